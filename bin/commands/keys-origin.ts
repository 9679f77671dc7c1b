// `hyperstatic keys install|list`: the origin's half of the key ceremony
// (docs/trust.md, "Key ceremony"). A statement signed offline is installed
// into the origin's database (app/feed/trust-statements.ts), from where it
// replicates to the standby and is served to mirrors.
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { keyFiles, loadPrivateKey } from '../../app/feed/signing-keys';
import type { InstalledStatement } from '../../app/feed/trust-statements';
import { loadConfig, type Config } from '../../common/config';
import { dialectOf, type Database } from '../../common/db/database';
import { parsePublicKey } from '../../common/feed-format';
import { delegationState, relativeTime } from '../../common/trust/ceremony';
import { epochRange, keyIdOf, type KeyId } from '../../common/trust/statements';
import { withDatabase } from '../cli-support';
import { formatTable, isoMinute } from '../text-table';
import { readStatementFile, rootsFrom, statementLines, type RootsFlags, type Write } from './keys-ceremony';

const DAY_MS = 86_400_000;
/** A delegation this close to its expiry is flagged by `keys list`: time to renew it. */
const RENEW_WARNING_MS = 30 * DAY_MS;

const trustModule = () =>
  require('../../app/feed/trust-statements') as typeof import('../../app/feed/trust-statements');

const READ_ONLY =
  'the database (DATABASE_URL) is read-only: a standby replica or a fenced primary. Install statements on the primary; they reach the standby by replication. Nothing was installed';

/**
 * Refuses up front on a read-only MariaDB, and names a read-only refusal that comes later (SQLite, a race);
 * `message` says where to run the command instead (also used by `hyperstatic mirrors`).
 */
export async function writable<T>(db: Database, fn: () => Promise<T>, message = READ_ONLY): Promise<T> {
  if (dialectOf(db) === 'mysql') {
    const [rows] = (await db.raw('SELECT @@GLOBAL.read_only AS ro')) as [{ ro: number | string }[]];
    if (Number(rows[0]?.ro) === 1) throw new Error(message);
  }
  try {
    return await fn();
  } catch (error) {
    const e = error as { code?: string; errno?: number };
    if (e.code === 'ER_OPTION_PREVENTS_STATEMENT' || e.errno === 1290 || e.code?.startsWith('SQLITE_READONLY'))
      throw new Error(message, { cause: error });
    throw error;
  }
}

export function register(keys: Command, write: Write): void {
  keys
    .command('install <file>')
    .description(
      "Store a signed delegation or revocation in the origin's database (served to mirrors, replicated to the standby)",
    )
    .option('--roots <keyids-or-file>', 'check the threshold of these root keys first (default MIRROR_ROOT_KEYS)')
    .option('--threshold <k>', 'how many of them must sign (default MIRROR_ROOT_THRESHOLD)')
    .action(async (file: string, flags: RootsFlags) => {
      const signed = readStatementFile(file);
      const pinned = rootsFrom(flags);
      const user = os.userInfo().username;
      const result = await withDatabase(loadConfig(), (db) =>
        writable(db, async () => {
          const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
          await migrateLatest(db);
          return trustModule().installStatement(db, signed, {
            roots: pinned?.roots,
            threshold: pinned?.threshold,
            now: Date.now(),
            installedBy: `${user}@${os.hostname()}`,
            note: `keys install ${file}`,
          });
        }),
      );
      const id = result.statement.id;
      const said = {
        installed: `installed as statement #${id}`,
        'signatures-added': `already installed as #${id}; added the signatures it lacked`,
        unchanged: `already installed as #${id} with these signatures; nothing changed`,
      }[result.outcome];
      write(
        [
          said,
          ...statementLines(signed.statement, Date.now()),
          pinned
            ? `root signatures checked: meets ${pinned.threshold} of ${pinned.roots.length}`
            : 'roots not checked here (pass --roots and --threshold to check before storing); mirrors check them',
          '',
        ].join('\n'),
      );
    });

  keys
    .command('list')
    .description(
      "Installed delegations and revocations: site, key, epochs, expiry; this site's key and whether it covers the current epoch",
    )
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const config = loadConfig();
      const listing = await withDatabase(config, async (db) => {
        const statements = (await db.schema.hasTable('trust_statements')) ? await trustModule().listStatements(db) : [];
        const state = (await db.schema.hasTable('cluster_state'))
          ? await db('cluster_state').where({ id: 1 }).first('epoch')
          : undefined;
        return trustListing(statements, {
          epoch: state ? Number(state.epoch) : null,
          siteKey: siteKeyOf(config),
          now: Date.now(),
        });
      });
      write(flags.json ? `${JSON.stringify(listing, null, 2)}\n` : formatListing(listing, Date.now()));
    });
}

/** This site's key id, from FEED_SIGNING_KEY's public half (or the private key); null when there is none yet. */
function siteKeyOf(config: Config): KeyId | null {
  const files = keyFiles(config.feedSigningKey);
  if (fs.existsSync(files.publicPath)) return keyIdOf(parsePublicKey(fs.readFileSync(files.publicPath, 'utf8')));
  if (fs.existsSync(files.privatePath)) return keyIdOf(loadPrivateKey(files.privatePath));
  return null;
}

export interface ListedStatement {
  id: number;
  kind: 'delegation' | 'revocation';
  site: string | null;
  key: KeyId;
  epochs: string | null;
  issued: number;
  expires: number | null;
  reason: string | null;
  signatures: number;
  installedAt: number;
  installedBy: string;
  revoked: boolean;
  expired: boolean;
  thisSite: boolean;
  coversCurrentEpoch: boolean;
}

export interface TrustListing {
  epoch: number | null;
  siteKey: KeyId | null;
  /** The delegation ids that let this site's key sign at the current epoch now. */
  siteKeyCoveredBy: number[];
  statements: ListedStatement[];
  warnings: string[];
}

/** What `keys list` shows, decided from the installed statements, this site's key, the epoch and the clock. */
export function trustListing(
  installed: InstalledStatement[],
  at: { epoch: number | null; siteKey: KeyId | null; now: number },
): TrustListing {
  const revokedKeys = new Set(installed.filter((s) => s.kind === 'revocation').map((s) => s.keyId));
  const statements = installed.map((s): ListedStatement => {
    const st = s.signed.statement;
    const common = {
      id: s.id,
      key: st.key,
      issued: st.issued,
      signatures: s.signed.signatures.length,
      installedAt: s.installedAt,
      installedBy: s.installedBy,
      revoked: revokedKeys.has(st.key),
      thisSite: st.key === at.siteKey,
    };
    if (st.type === 'revocation')
      return {
        ...common,
        kind: 'revocation',
        site: null,
        epochs: null,
        expires: null,
        reason: st.reason,
        expired: false,
        coversCurrentEpoch: false,
      };
    const state = delegationState(st, at.epoch ?? -1, at.now, revokedKeys);
    return {
      ...common,
      kind: 'delegation',
      site: st.site,
      epochs: epochRange(st.epochs),
      expires: st.expires,
      reason: null,
      expired: state.expired,
      coversCurrentEpoch: at.epoch !== null && state.covers,
    };
  });
  const warnings: string[] = [];
  for (const s of statements)
    if (s.kind === 'delegation' && !s.revoked && !s.expired && s.expires! - at.now < RENEW_WARNING_MS)
      warnings.push(
        `delegation #${s.id} (${s.site}, ${s.key}) expires ${relativeTime(s.expires!, at.now)}: renew it (docs/trust.md, "Renewing a delegation")`,
      );
  const siteKeyCoveredBy = statements.filter((s) => s.thisSite && s.coversCurrentEpoch).map((s) => s.id);
  if (at.siteKey === null)
    warnings.push('this site has no signing key yet (FEED_SIGNING_KEY): run `hyperstatic keys init`');
  else if (siteKeyCoveredBy.length === 0)
    warnings.push(
      `this site's key ${at.siteKey} is not delegated for the current epoch${at.epoch === null ? '' : ` ${at.epoch}`}: mirrors that pin root keys will refuse what it signs`,
    );
  return { epoch: at.epoch, siteKey: at.siteKey, siteKeyCoveredBy, statements, warnings };
}

function formatListing(listing: TrustListing, now: number): string {
  const state = (s: ListedStatement): string =>
    [
      s.kind === 'revocation' ? `revokes: ${s.reason}` : '',
      s.kind === 'delegation' && s.revoked ? 'REVOKED' : '',
      s.expired ? 'EXPIRED' : '',
      s.kind === 'delegation' && !s.expired && !s.revoked ? `expires ${relativeTime(s.expires!, now)}` : '',
      s.thisSite ? 'THIS SITE' : '',
      s.coversCurrentEpoch ? 'covers the current epoch' : '',
    ]
      .filter(Boolean)
      .join(', ');
  const head = [
    `current epoch: ${listing.epoch ?? '-'}; this site's key: ${listing.siteKey ?? '(none)'}${listing.siteKeyCoveredBy.length > 0 ? ` (covered by #${listing.siteKeyCoveredBy.join(', #')})` : ''}`,
    '',
  ];
  const table =
    listing.statements.length === 0
      ? ['no trust statements installed (hyperstatic keys install FILE)']
      : [
          formatTable(
            ['#', 'KIND', 'SITE', 'KEY', 'EPOCHS', 'EXPIRES (UTC)', 'SIGS', 'STATE'],
            listing.statements.map((s) => [
              String(s.id),
              s.kind,
              s.site ?? '-',
              s.key,
              s.epochs ?? '-',
              isoMinute(s.expires),
              String(s.signatures),
              state(s),
            ]),
          ),
        ];
  return `${[...head, ...table, ...listing.warnings.map((w) => `warning: ${w}`)].join('\n')}\n`;
}
