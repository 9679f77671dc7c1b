// Subcommands of the `mirror` process command (bin/cli.ts):
// `hyperstatic mirror verify` compares a mirror's copy with the origin's
// signed manifest or a peer's and repairs what can be proven;
// `hyperstatic mirror credentials add|revoke|list` runs on the origin and
// issues each mirror its own status-report token.
import type { Command } from 'commander';
import { createLogger } from '../../common/logger';
import { loadConfig } from '../../common/config';
import type { Database } from '../../common/db/database';
import type { VerifyReport } from '../../mirrors/verify';
import { configFrom, withDatabase } from '../cli-support';
import { isoMinute } from '../text-table';

type Write = (text: string) => void;

/** `write` is where command output goes (stdout; tests pass their own). */
export function register(
  program: Command,
  { write = (text: string) => void process.stdout.write(text) }: { write?: Write } = {},
): void {
  const mirror = program.commands.find((c) => c.name() === 'mirror');
  if (!mirror) throw new Error('bin/commands/mirror.ts must be registered after the `mirror` command');
  registerCredentials(mirror, write);
  mirror
    .command('verify')
    .description(
      "Compare this mirror's copy with the origin's signed manifest (or a peer's) and its blobs with their hashes; --repair fixes what it can prove",
    )
    .option('--data-dir <dir>', 'sets MIRROR_DATA_DIR')
    .option('--origin <urls>', 'sets MIRROR_ORIGIN_URLS; the first one that answers is the reference')
    .option(
      '--peer <url>',
      "compare with this peer mirror instead: its operator listener (MIRROR_INTERNAL_PORT), or its public URL when MIRROR_ADMIN_TOKEN here is the peer's (its manifest is unsigned: differences are reported, blobs repaired, paths not)",
    )
    .option('--repair', 'fetch corrupt or missing blobs again and make the index equal to the signed manifest')
    .action((_flags: VerifyFlags, command: Command) => verify(verifyFlags(command)));
}

function registerCredentials(mirror: Command, write: Write): void {
  const credentials = mirror
    .command('credentials')
    .description('On the origin: the token each mirror reports its status with (stored hashed; one per mirror name)');
  const credentialsModule = () =>
    require('../../app/feed/mirror-credentials') as typeof import('../../app/feed/mirror-credentials');
  const migrated = async <T>(fn: (db: Database) => Promise<T>): Promise<T> =>
    withDatabase(loadConfig(), async (db) => {
      const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
      await migrateLatest(db);
      return fn(db);
    });
  credentials
    .command('add <name>')
    .description(
      "Issue mirror NAME its status token; prints MIRROR_NAME and MIRROR_STATUS_TOKEN for the mirror's environment (shown once)",
    )
    .action(async (name: string) => {
      const token = await migrated((db) => credentialsModule().addMirrorCredential(db, name));
      write(`MIRROR_NAME=${name}\nMIRROR_STATUS_TOKEN=${token}\n`);
    });
  credentials
    .command('revoke <name>')
    .description("Refuse status reports from mirror NAME's token from now on")
    .action(async (name: string) => {
      await migrated((db) => credentialsModule().revokeMirrorCredential(db, name));
      write(`revoked the status token of mirror "${name}"\n`);
    });
  credentials
    .command('list')
    .description('Mirror names with a token, and when it was issued or revoked')
    .action(async () => {
      const rows = await migrated((db) => credentialsModule().listMirrorCredentials(db));
      write(
        rows.length === 0
          ? 'no mirror credentials issued\n'
          : `${rows.map((r) => `${r.name}\tissued ${isoMinute(r.createdAt)}\trevoked ${isoMinute(r.revokedAt)}`).join('\n')}\n`,
      );
    });
}

interface VerifyFlags {
  dataDir?: string;
  origin?: string;
  peer?: string;
  repair?: boolean;
}

/**
 * The parent `mirror` command (bin/cli.ts) declares --data-dir and --origin
 * too, and commander gives a flag to the parent wherever it stands
 * (`mirror verify --data-dir X` included): merge both, this command's own first.
 */
function verifyFlags(command: Command): VerifyFlags {
  return { ...command.optsWithGlobals<VerifyFlags>(), ...command.opts<VerifyFlags>() };
}

/** `mirror verify`: against the first origin that answers (or the peer); exit code 1 when differences remain. */
async function verify(flags: VerifyFlags): Promise<void> {
  const config = configFrom(
    { dataDir: flags.dataDir, origin: flags.origin },
    { dataDir: 'MIRROR_DATA_DIR', origin: 'MIRROR_ORIGIN_URLS' },
  );
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'mirror-verify');
  const { createBlobFetcher } = require('../../mirrors/blob-fetcher') as typeof import('../../mirrors/blob-fetcher');
  const { MirrorStore } = require('../../mirrors/mirror-store') as typeof import('../../mirrors/mirror-store');
  const { trustAnchorOf } = require('../../mirrors/trust-anchor') as typeof import('../../mirrors/trust-anchor');
  const { TrustState } = require('../../common/trust/trust-state') as typeof import('../../common/trust/trust-state');
  const { createProgress } = require('../../mirrors/progress') as typeof import('../../mirrors/progress');
  const { verifyMirror } = require('../../mirrors/verify') as typeof import('../../mirrors/verify');
  const anchor = trustAnchorOf(config);
  const store = MirrorStore.open(config.mirrorDataDir);
  const trust = new TrustState(anchor, store.trust);
  const fetcher = createBlobFetcher({
    store,
    sources: () => [...config.mirrorOrigins, ...config.mirrorPeers, ...(flags.peer ? [flags.peer] : [])],
    logger,
    concurrency: config.mirrorFetchConcurrency,
    timeoutMs: config.mirrorFetchTimeoutMs,
  });
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
          // A peer's manifest is an operator endpoint (docs/design.md, "Operator endpoints").
          headers: flags.peer && config.mirrorAdminToken ? { authorization: `Bearer ${config.mirrorAdminToken}` } : {},
          trust: flags.peer ? undefined : trust,
          fetcher,
          repair: Boolean(flags.repair),
          logger,
          progress,
        });
        progress.stop();
        process.stdout.write(`${verifyReportLines(report).join('\n')}\n`);
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
}

/** What `mirror verify` prints: the reference, the counts, up to ten differing paths, the notes and the verdict. */
export function verifyReportLines(report: VerifyReport): string[] {
  return [
    `reference: ${report.source} (${report.signed ? 'signed by the pinned origin key' : 'unsigned peer manifest'}), cursor ${report.manifestCursor}; this mirror: cursor ${report.localCursor}`,
    `pages in manifest: ${report.pages}; missing here: ${report.missing}; different here: ${report.differing}; only here: ${report.extra}`,
    `corrupt or missing blobs: ${report.corruptBlobs.length}${report.repairedBlobs ? ` (${report.repairedBlobs} fetched again)` : ''}`,
    ...(report.repairedPaths ? [`repaired paths: ${report.repairedPaths}`] : []),
    ...report.examples.slice(0, 10).map((p) => `  differs: ${p}`),
    ...report.notes.map((n) => `note: ${n}`),
    report.consistent ? 'result: consistent' : 'result: DIFFERENCES REMAIN',
  ];
}
