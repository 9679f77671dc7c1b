// `hyperstatic media renditions`: gives images uploaded before responsive
// images (app/media/renditions.ts) their renditions: each image in MEDIA_DIR
// whose row has none listed is decoded, its renditions stored and journaled
// (mirrors fetch them like any media), then listed on its row. Idempotent:
// a second run finds nothing to do. Pages offer the new renditions once
// re-rendered, so it ends by saying to run `hyperstatic rebuild`.
import type { Command } from 'commander';
import { loadConfig } from '../../common/config';
import { withDatabase } from '../cli-support';

export function register(program: Command): void {
  const media = program.command('media').description('Uploaded media');
  media
    .command('renditions')
    .description(
      'Make the missing responsive renditions (AVIF and WebP, several widths) of images uploaded before they existed, and journal them; run it on the app host (it reads MEDIA_DIR), then `hyperstatic rebuild`',
    )
    .option('--json', 'print a JSON summary as the last line')
    .action(async (flags: { json?: boolean }) => {
      const config = loadConfig();
      const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
      const { createMediaStore } =
        require('../../app/media/media-store') as typeof import('../../app/media/media-store');
      const result = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        const store = createMediaStore({
          db,
          dir: config.mediaDir,
          maxBytes: config.mediaMaxBytes,
          renditionConcurrency: config.mediaRenditionConcurrency,
        });
        return store.addMissingRenditions((progress) =>
          process.stderr.write(`renditions: ${progress.made} made, ${progress.remaining} to go\n`),
        );
      });
      for (const failure of result.failed)
        process.stderr.write(`could not make renditions of ${failure.sha256}: ${failure.reason}\n`);
      process.stdout.write(
        result.made > 0
          ? `made renditions for ${result.made} images; run \`hyperstatic rebuild\` so pages offer them\n`
          : 'every image already has its renditions\n',
      );
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exitCode = result.failed.length > 0 ? 1 : 0;
    });
}
