// `hyperstatic mirror verify`: a subcommand of the `mirror` process command
// (bin/cli.ts), comparing a mirror's copy with the origin's signed manifest
// or a peer's, and repairing what can be proven.
import type { Command } from 'commander';
import { createLogger } from '../../common/logger';
import { configFrom } from '../cli-support';

export function register(program: Command): void {
  const mirror = program.commands.find((c) => c.name() === 'mirror');
  if (!mirror) throw new Error('bin/commands/mirror.ts must be registered after the `mirror` command');
  mirror
    .command('verify')
    .description('Compare this mirror\'s copy with the origin\'s signed manifest (or a peer\'s) and its blobs with their hashes; --repair fixes what it can prove')
    .option('--data-dir <dir>', 'sets MIRROR_DATA_DIR')
    .option('--origin <urls>', 'sets MIRROR_ORIGIN_URLS; the first one that answers is the reference')
    .option('--peer <url>', 'compare with this peer mirror instead (its manifest is unsigned: differences are reported, blobs repaired, paths not)')
    .option('--repair', 'fetch corrupt or missing blobs again and make the index equal to the signed manifest')
    .action(async (flags: { dataDir?: string; origin?: string; peer?: string; repair?: boolean }) => {
      const config = configFrom({ dataDir: flags.dataDir, origin: flags.origin }, { dataDir: 'MIRROR_DATA_DIR', origin: 'MIRROR_ORIGIN_URLS' });
      const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'mirror-verify');
      const { createBlobFetcher } = require('../../mirrors/blob-fetcher') as typeof import('../../mirrors/blob-fetcher');
      const { MirrorStore } = require('../../mirrors/mirror-store') as typeof import('../../mirrors/mirror-store');
      const { loadPinnedKey } = require('../../mirrors/pinned-key') as typeof import('../../mirrors/pinned-key');
      const { createProgress } = require('../../mirrors/progress') as typeof import('../../mirrors/progress');
      const { verifyMirror } = require('../../mirrors/verify') as typeof import('../../mirrors/verify');
      const publicKey = loadPinnedKey(config.mirrorPublicKey);
      const store = MirrorStore.open(config.mirrorDataDir);
      const fetcher = createBlobFetcher({ store, sources: () => [...config.mirrorOrigins, ...config.mirrorPeers, ...(flags.peer ? [flags.peer] : [])], logger, concurrency: config.mirrorFetchConcurrency, timeoutMs: config.mirrorFetchTimeoutMs });
      const progress = createProgress('checking blobs', logger);
      try {
        const candidates = flags.peer ? [flags.peer.replace(/\/+$/, '')] : config.mirrorOrigins;
        let lastError: unknown;
        for (const url of candidates) {
          try {
            const report = await verifyMirror({
              store,
              url,
              manifestPath: flags.peer ? '/_mirror/manifest' : '/manifest',
              publicKey: flags.peer ? undefined : publicKey,
              fetcher,
              repair: Boolean(flags.repair),
              logger,
              progress,
            });
            progress.stop();
            const lines = [
              `reference: ${report.source} (${report.signed ? 'signed by the pinned origin key' : 'unsigned peer manifest'}), cursor ${report.manifestCursor}; this mirror: cursor ${report.localCursor}`,
              `pages in manifest: ${report.pages}; missing here: ${report.missing}; different here: ${report.differing}; only here: ${report.extra}`,
              `corrupt or missing blobs: ${report.corruptBlobs.length}${report.repairedBlobs ? ` (${report.repairedBlobs} fetched again)` : ''}`,
              ...(report.repairedPaths ? [`repaired paths: ${report.repairedPaths}`] : []),
              ...report.examples.slice(0, 10).map((p) => `  differs: ${p}`),
              ...report.notes.map((n) => `note: ${n}`),
              report.consistent ? 'result: consistent' : 'result: DIFFERENCES REMAIN',
            ];
            process.stdout.write(`${lines.join('\n')}\n`);
            if (!report.consistent) process.exitCode = 1;
            return;
          } catch (error) {
            lastError = error;
            logger.warn({ url, err: (error as Error).message }, 'verify against this source failed');
          }
        }
        throw lastError instanceof Error ? lastError : new Error('no source to verify against');
      } finally {
        fetcher.close();
        store.close();
      }
    });
}
