// `hyperstatic mirrors add|remove|list|sign|verify`: the signed list of places
// where the site can be read (docs/trust.md, "The mirror list"). add, remove
// and sign run on the origin (they need its database and its site key) and
// publish /mirrors and /mirrors.json through the journal
// (mirrors-publish.ts); verify runs anywhere, offline, with the root key ids.
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { loadConfig, redisTarget, type Config } from '../../common/config';
import type { MirrorEntry, VerifiedMirrorList } from '../../common/trust/mirror-list';
import { withDatabase } from '../cli-support';
import { formatTable, isoMinute } from '../text-table';
import type { MirrorChange, PublishResult } from './mirrors-publish';

type Write = (text: string) => void;

const READ_ONLY =
  'the database (DATABASE_URL) is read-only: a standby replica or a fenced primary. Run `hyperstatic mirrors` on the primary origin; the list reaches the standby by replication. Nothing changed';

/** `write` and `warn` are where output and warnings go (stdout, stderr; tests pass their own). */
export function register(
  program: Command,
  {
    write = (text: string) => void process.stdout.write(text),
    warn = (text: string) => void process.stderr.write(text),
  }: { write?: Write; warn?: Write } = {},
): void {
  const mirrors = program
    .command('mirrors')
    .description('The signed list of places where the site can be read (mirrors, onion services, static copies)');
  const publish = async (change: MirrorChange, json: boolean | undefined): Promise<void> => {
    const result = await publishChange(loadConfig(), change);
    for (const w of result.warnings) warn(`hyperstatic: warning: ${w}\n`);
    write(json ? `${JSON.stringify(result)}\n` : describePublished(result));
  };
  mirrors
    .command('add <url>')
    .description('On the origin: list a place where the site can be read, sign the list and publish it')
    .option('--kind <kind>', 'mirror, onion, static (a static host) or bundle (a downloadable copy)', 'mirror')
    .option('--region <text>', 'where it is, for readers choosing one (e.g. "EU")', '')
    .option('--note <text>', 'one line readers see beside it', '')
    .option('--by <name>', 'who added it (default: the operating-system user)')
    .option('--json', 'print the result as JSON')
    .action(async (url: string, flags: { kind: string; region: string; note: string; by?: string; json?: boolean }) => {
      const actor = (flags.by ?? os.userInfo().username).trim() || 'unknown';
      await publish(
        { op: 'add', entry: { url, kind: flags.kind, region: flags.region, note: flags.note }, actor },
        flags.json,
      );
    });
  mirrors
    .command('remove <url>')
    .description('On the origin: take a place off the list, sign the list and publish it')
    .option('--json', 'print the result as JSON')
    .action((url: string, flags: { json?: boolean }) => publish({ op: 'remove', url }, flags.json));
  mirrors
    .command('sign')
    .description(
      "On the origin: sign the list again as it is (after a promotion or a new delegation of this site's key)",
    )
    .option('--json', 'print the result as JSON')
    .action((flags: { json?: boolean }) => publish({ op: 'sign' }, flags.json));
  mirrors
    .command('list')
    .description('The places on the list, as the origin database holds them')
    .option('--json', 'print them as JSON')
    .action(async (flags: { json?: boolean }) => {
      const rows = await listEntries(loadConfig());
      write(flags.json ? `${JSON.stringify(rows)}\n` : describeList(rows));
    });
  mirrors
    .command('verify <file-or-url>')
    .description(
      "Check a signed mirror list (a /mirrors.json file or URL) against the site's root key ids, offline; exits 1 if it does not verify",
    )
    .option('--roots <keyids-or-file>', 'the root key ids (default MIRROR_ROOT_KEYS)')
    .option('--threshold <k>', 'how many of them must have signed the delegation (default MIRROR_ROOT_THRESHOLD)')
    .option(
      '--trust <file-or-url>',
      "a trust bundle (a mirror's /.well-known/hyperstatic/trust.json) whose revocations count too: a key revoked after it signed the list is refused",
    )
    .option('--json', 'print the verified list as JSON')
    .action(async (source: string, flags: VerifyFlags) => {
      const verified = await verifySource(source, flags);
      write(flags.json ? `${JSON.stringify(verified)}\n` : describeVerified(verified));
    });
}

async function publishChange(config: Config, change: MirrorChange): Promise<PublishResult> {
  const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
  const { createRenderer, siteInfoOf } = require('../../producer/renderer') as typeof import('../../producer/renderer');
  const { publishMirrorList } = require('./mirrors-publish') as typeof import('./mirrors-publish');
  const { parseMirrorEntry, normalizeUrl } =
    require('../../common/trust/mirror-list') as typeof import('../../common/trust/mirror-list');
  // Input first: a mistyped URL is reported as such, wherever the command runs.
  if (change.op === 'add') parseMirrorEntry(change.entry);
  if (change.op === 'remove') normalizeUrl(change.url);
  const signer = siteSignerOf(config);
  const { writable } = require('./keys-origin') as typeof import('./keys-origin');
  const result = await withDatabase(config, (db) =>
    writable(
      db,
      async () => {
        await migrateLatest(db);
        return publishMirrorList(
          {
            db,
            renderer: createRenderer(siteInfoOf(config)),
            signer,
            site: config.publicUrl,
          },
          change,
        );
      },
      READ_ONLY,
    ),
  );
  const redis = redisTarget(config);
  if (result.head !== undefined && redis) {
    const { announce } = require('./purge') as typeof import('./purge');
    await announce(redis, config.redisPrefix, result.head);
  }
  return result;
}

function siteSignerOf(config: Config) {
  const { loadPrivateKey } = require('../../app/feed/signing-keys') as typeof import('../../app/feed/signing-keys');
  const { siteSigner } = require('../../common/trust/statements') as typeof import('../../common/trust/statements');
  if (!fs.existsSync(config.feedSigningKey))
    throw new Error(
      `no site key at ${config.feedSigningKey} (FEED_SIGNING_KEY): run this on the origin, where the key that signs the feed is`,
    );
  return siteSigner(loadPrivateKey(config.feedSigningKey));
}

async function listEntries(config: Config): Promise<(MirrorEntry & { addedAt: number; addedBy: string })[]> {
  return withDatabase(config, async (db) => {
    const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
    await migrateLatest(db);
    const rows = await db('mirror_list').orderBy('id').select();
    return rows.map((r) => ({
      url: String(r.url),
      kind: r.kind,
      region: r.region,
      note: r.note,
      addedAt: Number(r.added_at),
      addedBy: r.added_by,
    }));
  });
}

interface VerifyFlags {
  roots?: string;
  threshold?: string;
  trust?: string;
  json?: boolean;
}

async function verifySource(source: string, flags: VerifyFlags): Promise<VerifiedMirrorList> {
  const { rootsFrom } = require('./keys-ceremony') as typeof import('./keys-ceremony');
  const { verifyMirrorList } =
    require('../../common/trust/mirror-list') as typeof import('../../common/trust/mirror-list');
  const pinned = rootsFrom(flags);
  if (!pinned)
    throw new Error(
      "verify needs the root key ids: --roots FILE-or-IDS (or MIRROR_ROOT_KEYS); they are printed in the site's docs",
    );
  const { parseBundle } = require('../../common/trust/statements') as typeof import('../../common/trust/statements');
  const value = await readJson(source);
  const extraRevocations = flags.trust === undefined ? [] : parseBundle(await readJson(flags.trust)).revocations;
  return verifyMirrorList(value, { roots: new Set(pinned.roots), threshold: pinned.threshold, extraRevocations });
}

async function readJson(source: string): Promise<unknown> {
  const text = await readSource(source);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`);
  }
}

async function readSource(source: string): Promise<string> {
  if (!/^https?:\/\//i.test(source)) {
    if (!fs.existsSync(source)) throw new Error(`no file at ${source}`);
    return fs.readFileSync(source, 'utf8');
  }
  const res = await fetch(source, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${source} answered ${res.status}`);
  return res.text();
}

function describePublished(r: PublishResult): string {
  return (
    `signed the list of ${r.mirrors.length} place(s) with key ${r.key} at epoch ${r.epoch}` +
    `${r.head === undefined ? '; nothing changed' : `; published /mirrors and /mirrors.json (journal head ${r.head})`}\n`
  );
}

function describeList(rows: (MirrorEntry & { addedAt: number; addedBy: string })[]): string {
  if (rows.length === 0) return 'no places listed (add one: hyperstatic mirrors add URL --kind mirror)\n';
  const table = formatTable(
    ['URL', 'KIND', 'REGION', 'NOTE', 'ADDED (UTC)', 'BY'],
    rows.map((r) => [r.url, r.kind, r.region, r.note, isoMinute(r.addedAt), r.addedBy]),
  );
  return `${table}\n`;
}

function describeVerified({ list, delegation }: VerifiedMirrorList): string {
  const lines = [
    `verified: the mirror list of ${list.site}, signed ${isoMinute(list.issued)} UTC by key ${list.signature.key} at epoch ${list.signature.at}`,
    `  delegated to "${delegation.site}" by the root keys until ${isoMinute(delegation.expires)} UTC`,
    ...list.mirrors.map((m) => `  ${m.kind}\t${m.url}${m.region ? `\t${m.region}` : ''}${m.note ? `\t${m.note}` : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}
