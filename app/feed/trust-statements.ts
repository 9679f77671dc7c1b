// The root-signed statements the origin serves to mirrors (docs/trust.md,
// "Key ceremony"): operators make and sign them offline (`hyperstatic keys
// delegate|revoke|sign`) and install them here (`keys install`). The table
// replicates to the standby, so one install reaches both sites. A statement
// is refused whole (nothing written) when any signature on it does not
// verify, when it is below the threshold of the roots the operator names,
// when a delegation has expired, or when it delegates a revoked key.
import type { Database } from '../../common/db/database';
import { insertId } from '../content/item-writes';
import { brokenSignatures, statementDigest } from '../../common/trust/ceremony';
import {
  checkThreshold,
  describe,
  parseSigned,
  TrustError,
  type Delegation,
  type KeyId,
  type Revocation,
  type Signed,
  type TrustBundle,
} from '../../common/trust/statements';

export interface InstalledStatement {
  id: number;
  kind: 'delegation' | 'revocation';
  keyId: KeyId;
  signed: Signed;
  installedAt: number;
  installedBy: string;
  note: string;
}

export interface InstallOptions {
  /** When given, the statement must carry `threshold` valid signatures from these roots. */
  roots?: readonly KeyId[];
  threshold?: number;
  now: number;
  installedBy?: string;
  note?: string;
}

export interface InstallResult {
  /** `installed`: a new row; `signatures-added`: the statement was there, this copy added signatures; `unchanged`: nothing new. */
  outcome: 'installed' | 'signatures-added' | 'unchanged';
  statement: InstalledStatement;
}

/** Validates a signed statement (as read from a file) and stores it unless it is already there. */
export async function installStatement(db: Database, value: unknown, options: InstallOptions): Promise<InstallResult> {
  const signed = parseSigned(value);
  const what = describe(signed.statement);
  if (signed.signatures.length === 0) throw new TrustError('unsigned', `${what} is unsigned`);
  const broken = brokenSignatures(signed);
  if (broken.length > 0)
    throw new TrustError(
      'bad-signature',
      `the signature by ${broken.join(', ')} does not verify over this ${signed.statement.type}: it was changed after signing, or the signature belongs to another statement`,
    );
  if (options.roots) checkThreshold(signed, new Set(options.roots), options.threshold ?? 1);
  const st = signed.statement;
  if (st.type === 'delegation' && st.expires <= options.now)
    throw new TrustError('expired', `${what} expired on ${new Date(st.expires).toISOString()}; make a new one`);
  return db.transaction(async (trx) => {
    if (st.type === 'delegation') {
      const revoked = await trx('trust_statements').where({ kind: 'revocation', key_id: st.key }).first('id');
      if (revoked)
        throw new TrustError(
          'revoked',
          `${what}: key ${st.key} is revoked (statement #${revoked.id}); revocation is permanent`,
        );
    }
    const hash = statementDigest(st);
    const existing = (await trx('trust_statements').where({ statement_hash: hash }).first()) as Row | undefined;
    if (existing) {
      const stored = rowToStatement(existing);
      const known = new Set(stored.signed.signatures.map((s) => s.key));
      const added = signed.signatures.filter((s) => !known.has(s.key));
      if (added.length === 0) return { outcome: 'unchanged', statement: stored };
      const merged: Signed = {
        statement: stored.signed.statement,
        signatures: [...stored.signed.signatures, ...added],
      };
      await trx('trust_statements')
        .where({ id: stored.id })
        .update({ signed_json: JSON.stringify(merged) });
      return { outcome: 'signatures-added', statement: { ...stored, signed: merged } };
    }
    const row = {
      kind: st.type,
      key_id: st.key,
      statement_hash: hash,
      signed_json: JSON.stringify(signed),
      installed_at: options.now,
      installed_by: (options.installedBy ?? '').slice(0, 200),
      note: (options.note ?? '').slice(0, 500),
    };
    const id = await insertId(trx, 'trust_statements', row);
    return { outcome: 'installed', statement: rowToStatement({ ...row, id }) };
  });
}

interface Row {
  id: number | string;
  kind: string;
  key_id: string;
  signed_json: string;
  installed_at: number | string;
  installed_by: string;
  note: string;
}

function rowToStatement(row: Row): InstalledStatement {
  return {
    id: Number(row.id),
    kind: row.kind === 'revocation' ? 'revocation' : 'delegation',
    keyId: row.key_id,
    // Parsed again on the way out: a row edited by hand is refused here, not by every mirror.
    signed: parseSigned(JSON.parse(row.signed_json)),
    installedAt: Number(row.installed_at),
    installedBy: row.installed_by,
    note: row.note,
  };
}

/** Every installed statement, in install order. */
export async function listStatements(db: Database): Promise<InstalledStatement[]> {
  const rows = (await db('trust_statements').orderBy('id').select()) as Row[];
  return rows.map(rowToStatement);
}

/**
 * What the origin hands mirrors: every revocation, and every delegation not
 * yet expired (one a renewal replaced stops being sent once it lapses), in
 * install order.
 */
export async function loadTrustBundle(db: Database, now = Date.now()): Promise<TrustBundle> {
  const statements = await listStatements(db);
  return {
    delegations: statements
      .filter((s) => s.kind === 'delegation')
      .map((s) => s.signed as Signed<Delegation>)
      .filter((d) => d.statement.expires > now),
    revocations: statements.filter((s) => s.kind === 'revocation').map((s) => s.signed as Signed<Revocation>),
  };
}
