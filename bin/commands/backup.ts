// `hyperstatic backup` and `hyperstatic restore`: the embedded site (SQLite
// database, media, keys) to one archive and back (app/backup/embedded-backup.ts).
// Production sites back up MariaDB with its own tools (docs/operations.md, "Backups").
import type { Command } from 'commander';
import { configFrom } from '../cli-support';

const backupModule = () =>
  require('../../app/backup/embedded-backup') as typeof import('../../app/backup/embedded-backup');

const out = (s: string) => process.stdout.write(`${s}\n`);

export function register(program: Command): void {
  program
    .command('backup')
    .description(
      'Embedded mode: copy the SQLite database (online, consistent while the site runs), media and keys into a new .tar.gz, mode 600 (it holds the private signing key)',
    )
    .requiredOption('--out <file>', 'the archive to write (must not exist), e.g. hyperstatic-2024-05-01.tar.gz')
    .option('--data-dir <dir>', 'sets DATA_DIR')
    .option('--json', 'print a JSON summary')
    .action(async (flags: { out: string; dataDir?: string; json?: boolean }) => {
      const config = configFrom({ dataDir: flags.dataDir }, { dataDir: 'DATA_DIR' });
      const result = await backupModule().createBackup(config, flags.out);
      const { manifest } = result;
      if (flags.json) {
        const { files, ...rest } = manifest;
        out(
          JSON.stringify({
            file: result.file,
            bytes: result.bytes,
            seconds: result.seconds,
            files: files.length,
            ...rest,
          }),
        );
        return;
      }
      out(
        `wrote ${result.file} (${(result.bytes / 1048576).toFixed(1)} MB, mode 600) in ${result.seconds.toFixed(1)} s: ` +
          `journal entry ${manifest.journalHead} (epoch ${manifest.epoch}), ${manifest.pages} pages, ` +
          `${manifest.files.filter((f) => f.path.startsWith('media/')).length} media files, ` +
          `${manifest.files.filter((f) => f.path.startsWith('keys/')).length} key files`,
      );
      out('It holds the private signing key: keep it where only the operator can read it.');
    });

  program
    .command('restore')
    .description(
      'Embedded mode: unpack a `hyperstatic backup` archive into a new or empty data folder, after checking every file against its manifest',
    )
    .argument('<file>', 'the archive `hyperstatic backup` wrote')
    .requiredOption('--data-dir <dir>', 'the folder to restore into (the DATA_DIR the site then starts with)')
    .option(
      '--force',
      'restore into a non-empty folder: replaces its database, media, keys and mirror copy (stop the site first)',
    )
    .action(async (file: string, flags: { dataDir: string; force?: boolean }) => {
      const result = await backupModule().restoreBackup(file, flags.dataDir, { force: flags.force });
      const { manifest } = result;
      if (result.replaced.length > 0) out(`replaced ${result.replaced.join(', ')} in ${result.dataDir}`);
      out(
        `restored ${manifest.pages} pages at journal entry ${manifest.journalHead} (epoch ${manifest.epoch}, backup of ${manifest.createdAt}) into ${result.dataDir}`,
      );
      out(`start it with: DATA_DIR=${result.dataDir} hyperstatic all`);
      if (manifest.signingKey !== 'feed-ed25519.key')
        out(`the signing key is ${result.dataDir}/keys/${manifest.signingKey}: set FEED_SIGNING_KEY to it`);
    });
}
