// `hyperstatic bundle export` (on the origin: app/bundle/export.ts) and
// `hyperstatic bundle verify` (anywhere, offline: mirrors/bundle/verify.ts).
// Layout and formats: common/bundle-format.ts; docs/operations.md, "Bundles".
import type { Command } from 'commander';
import { parseExpiry } from '../../common/trust/ceremony';
import { configFrom, withDatabase } from '../cli-support';

type Write = (text: string) => void;

interface ExportFlags {
  since?: string;
  validFor: string;
  nginxRoot?: string;
  nginxListen?: string;
  dataDir?: string;
  json?: boolean;
}

interface VerifyFlags {
  roots?: string;
  threshold?: string;
  publicKey?: string;
  json?: boolean;
}

export function register(
  program: Command,
  { write = (text: string) => void process.stdout.write(text) }: { write?: Write } = {},
): void {
  const bundle = program
    .command('bundle')
    .description('The site as a verifiable directory tree any static file server can host (docs/operations.md)');
  bundle
    .command('export')
    .description(
      'On the origin: write every live page and media file (or only those changed since --since), the signed manifest, a signed heartbeat, the trust statements, an nginx config and objects.json into OUT',
    )
    .argument('<out>', 'a new or empty directory')
    .option('--since <cursor>', 'only pages changed after this journal entry (a delta for a copy at that cursor)')
    .option('--valid-for <duration>', "how long the bundle's heartbeat vouches for it (12h, 7d, at most 30d)", '7d')
    .option('--nginx-root <dir>', "the directory nginx will serve the bundle from (default: OUT's absolute path)")
    .option('--nginx-listen <address>', 'the listen argument of the generated nginx server block', '80')
    .option('--data-dir <dir>', 'sets DATA_DIR')
    .option('--json', 'print a JSON summary')
    .action(async (out: string, flags: ExportFlags) => write(await exportCommand(out, flags)));
  bundle
    .command('verify')
    .description(
      'Check a bundle offline: every file against the signed manifest, the signatures against the root keys (or the pinned key), the heartbeat not expired; exit 1 naming each problem',
    )
    .argument('<path>', 'the bundle directory')
    .option('--roots <ids-or-file>', 'sets MIRROR_ROOT_KEYS: the root key ids, comma-separated, or a file listing them')
    .option('--threshold <k>', 'sets MIRROR_ROOT_THRESHOLD')
    .option('--public-key <key-or-file>', 'sets MIRROR_PUBLIC_KEY (a site pinning one key instead of roots)')
    .option('--json', 'print a JSON summary')
    .action(async (dir: string, flags: VerifyFlags) => write(await verifyCommand(dir, flags)));
}

function parseValidFor(text: string, now: number): number {
  try {
    return parseExpiry(text, now) - now;
  } catch (error) {
    throw new Error(`--valid-for: ${(error as Error).message.replace(/^expiry/, 'duration')}`);
  }
}

async function exportCommand(out: string, flags: ExportFlags): Promise<string> {
  const config = configFrom({ dataDir: flags.dataDir }, { dataDir: 'DATA_DIR' });
  if (flags.since !== undefined && !/^\d+$/.test(flags.since))
    throw new Error(`--since must be a journal entry number; got "${flags.since}"`);
  const validForMs = parseValidFor(flags.validFor, Date.now());
  const { exportBundle } = require('../../app/bundle/export') as typeof import('../../app/bundle/export');
  const { loadPrivateKey } = require('../../app/feed/signing-keys') as typeof import('../../app/feed/signing-keys');
  const { loadTrustBundle } =
    require('../../app/feed/trust-statements') as typeof import('../../app/feed/trust-statements');
  const signingKey = loadPrivateKey(config.feedSigningKey);
  const result = await withDatabase(config, async (db) =>
    exportBundle({
      db,
      signingKey,
      trust: await loadTrustBundle(db),
      out,
      mediaDir: config.mediaDir,
      since: flags.since === undefined ? 0 : Number(flags.since),
      validForMs,
      nginx: { root: flags.nginxRoot, listen: flags.nginxListen },
    }),
  );
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  if (flags.json) return `${JSON.stringify({ ...result, peakRssMb })}\n`;
  return (
    `wrote ${result.out}: ${result.files} files (${(result.bytes / 1048576).toFixed(1)} MB) of ${result.pages} live pages, ` +
    `journal entry ${result.cursor} (epoch ${result.epoch})${result.since > 0 ? `, changes since ${result.since}` : ''}, in ${result.seconds.toFixed(1)} s, peak RSS ${peakRssMb} MB\n` +
    `heartbeat valid until ${new Date(result.created + validForMs).toISOString()}; nginx: ${result.out}/.well-known/hyperstatic/nginx.conf\n`
  );
}

async function verifyCommand(dir: string, flags: VerifyFlags): Promise<string> {
  const config = configFrom(
    { roots: flags.roots, threshold: flags.threshold, publicKey: flags.publicKey },
    { roots: 'MIRROR_ROOT_KEYS', threshold: 'MIRROR_ROOT_THRESHOLD', publicKey: 'MIRROR_PUBLIC_KEY' },
  );
  const { trustAnchorOf } = require('../../mirrors/trust-anchor') as typeof import('../../mirrors/trust-anchor');
  const { TrustState } = require('../../common/trust/trust-state') as typeof import('../../common/trust/trust-state');
  const { verifyBundle } = require('../../mirrors/bundle/verify') as typeof import('../../mirrors/bundle/verify');
  const anchor = trustAnchorOf(config);
  const started = Date.now();
  const result = await verifyBundle(dir, new TrustState(anchor));
  if (flags.json) {
    const { info: _info, heartbeat, ...rest } = result;
    const measured = {
      seconds: (Date.now() - started) / 1000,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    return `${JSON.stringify({ ...rest, ...measured, validUntil: heartbeat.validUntil, result: 'verified' })}\n`;
  }
  return (
    `verified ${result.dir}: ${result.files} page files match the signed manifest of journal entry ${result.cursor} (epoch ${result.epoch}, ${result.pages} live pages${result.since > 0 ? `, changes since ${result.since}` : ''})\n` +
    `signed by ${anchor.kind === 'roots' ? `a site key delegated by ${anchor.threshold} of ${anchor.roots.length} root keys` : 'the pinned site key'}; heartbeat valid until ${new Date(result.heartbeat.validUntil).toISOString()}\n`
  );
}
