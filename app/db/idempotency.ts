// Idempotency keys for writes (docs/design.md, "Replication and failover"): a client that did not hear the
// answer to a save (a timeout, a failover) retries with the same
// `Idempotency-Key` and gets the first answer back instead of a second save.
// The key row is written in the same transaction as the save, so it exists
// exactly when the save committed, on every node the save replicated to.
// What the row keeps of the request is a fingerprint that reveals nothing:
// an HMAC under the site's secret (app/auth/site-secret.ts) of the method,
// path and body with every secret field left out, so a password sent to
// PUT /api/me/password leaves no crackable trace (an unsalted sha256 of the
// body once did, for 24 hours).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { BadRequestError, HyperstaticError } from '../../common/errors';
import type { KeyedHash } from '../auth/site-secret';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
const KEY = /^[\x21-\x7e]{1,100}$/;
/** Keys older than this may be forgotten; a retry after a day is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;

export interface StoredResponse {
  status: number;
  body: unknown;
  location?: string;
}

export class IdempotencyMismatchError extends HyperstaticError {
  constructor() {
    super(
      'HS_IDEMPOTENCY_MISMATCH',
      422,
      `this ${IDEMPOTENCY_HEADER} was already used for a different request; use a new key for a new save`,
    );
  }
}

/** The header's value, validated; undefined when the client sent none. */
export function idempotencyKeyFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY.test(header))
    throw new BadRequestError(
      `${IDEMPOTENCY_HEADER} must be 1 to 100 printable ASCII characters without spaces`,
      IDEMPOTENCY_HEADER,
    );
  return header;
}

/**
 * Strangers (open publishing) share one user id: their keys are scoped by
 * the address they come from, so one cannot read back another's answer with
 * a guessed key, or block another's retry with a different request.
 */
export function scopedKey(key: string | undefined, scope: string): string | undefined {
  return key === undefined ? undefined : `@${createHash('sha256').update(`${scope}\n${key}`).digest('hex')}`;
}

/** Top-level body fields never fingerprinted: a retry is matched without them. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['password', 'currentPassword', 'newPassword', 'token']);

/** The scheme of keyed fingerprints; a stored fingerprint without it is the older unkeyed sha256. */
const KEYED = 'hmac1:';

function withoutSecrets(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body ?? null;
  return Object.fromEntries(Object.entries(body).filter(([name]) => !SECRET_FIELDS.has(name)));
}

/**
 * What an idempotency row keeps of a request: a keyed hash of the method,
 * path and body less its secret fields. `legacy` is the unkeyed sha256 that
 * rows written before the keyed scheme hold: compared, never stored, so such
 * rows keep matching their retries until they expire (IDEMPOTENCY_TTL_MS).
 */
export function requestFingerprint(
  hash: KeyedHash,
  method: string,
  path: string,
  body: unknown,
): { fingerprint: string; legacy: string } {
  return {
    fingerprint: `${KEYED}${hash('idempotency', `${method} ${path}\n${JSON.stringify(withoutSecrets(body))}`)}`,
    legacy: createHash('sha256')
      .update(`${method} ${path}\n${JSON.stringify(body ?? null)}`)
      .digest('hex'),
  };
}

export interface IdempotentRequest {
  userId: number;
  key: string | undefined;
  fingerprint: string;
  /** The unkeyed fingerprint older rows hold (requestFingerprint). */
  legacyFingerprint?: string;
}

function sameRequest(stored: string, request: IdempotentRequest): boolean {
  return stored.startsWith(KEYED) ? stored === request.fingerprint : stored === request.legacyFingerprint;
}

async function stored(
  db: Database | Knex.Transaction,
  request: IdempotentRequest,
  key: string,
): Promise<StoredResponse | undefined> {
  const row = await db('idempotency_keys')
    .where({ user_id: request.userId, idem_key: key })
    .first('request_hash', 'status', 'response');
  if (!row) return undefined;
  if (!sameRequest(String(row.request_hash), request)) throw new IdempotencyMismatchError();
  const parsed = JSON.parse(String(row.response)) as { body: unknown; location?: string };
  return { status: Number(row.status), body: parsed.body, location: parsed.location };
}

// The save to attach a key to runs deep inside a service (possibly wrapped,
// e.g. by revisions); the hook travels with the request's async context and
// is consumed by the first transaction that calls runSaveHooks.
interface SaveHookSlot {
  hook?: (trx: Knex.Transaction, result: unknown) => Promise<void>;
  /** The hook a transaction took, until that transaction is known to have committed or rolled back. */
  taken?: (trx: Knex.Transaction, result: unknown) => Promise<void>;
}
const saveHooks = new AsyncLocalStorage<SaveHookSlot>();

/** Called by a service inside its save transaction, after the write; runs the pending idempotency hook, once. */
export async function runSaveHooks(trx: Knex.Transaction, result: unknown): Promise<void> {
  const slot = saveHooks.getStore();
  const hook = slot?.hook;
  if (!slot || !hook) return;
  slot.hook = undefined;
  slot.taken = hook;
  await hook(trx, result);
}

/**
 * The save's transaction rolled back and is about to be run again from the
 * start (app/content/item-writes.ts, a deadlock victim): the key it took
 * rolled back with it, so the next attempt must write it again.
 */
export function restoreSaveHooks(): void {
  const slot = saveHooks.getStore();
  if (slot?.taken && !slot.hook) slot.hook = slot.taken;
  if (slot) slot.taken = undefined;
}

/**
 * Runs `save` at most once per (user, key). `respond` turns the save's result
 * into the answer; that answer is stored with the key inside the save's
 * transaction (via runSaveHooks) and replayed to retries. Without a key,
 * `save` just runs.
 */
export async function idempotent<T>(
  db: Database,
  request: IdempotentRequest,
  respond: (result: T) => StoredResponse,
  save: () => Promise<T>,
  now: () => number = Date.now,
): Promise<StoredResponse & { replayed: boolean }> {
  const key = request.key;
  if (key === undefined) return { ...respond(await save()), replayed: false };
  const earlier = await stored(db, request, key);
  if (earlier) return { ...earlier, replayed: true };
  const slot: SaveHookSlot = {
    hook: async (trx: Knex.Transaction, result: unknown) => {
      const response = respond(result as T);
      await trx('idempotency_keys').insert({
        user_id: request.userId,
        idem_key: key,
        request_hash: request.fingerprint,
        status: response.status,
        response: JSON.stringify({ body: response.body, location: response.location }),
        created_at: now(),
      });
    },
  };
  try {
    const result = await saveHooks.run(slot, save);
    if (slot.hook) throw new Error('idempotency: the save never called runSaveHooks inside its transaction');
    return { ...respond(result), replayed: false };
  } catch (error) {
    // A concurrent retry with the same key committed first: our insert hit its
    // primary key (and rolled our save back); answer what it answered.
    const winner = await stored(db, request, key).catch(() => undefined);
    if (winner) return { ...winner, replayed: true };
    throw error;
  }
}

/** Deletes keys older than the TTL; returns how many. */
export async function expireIdempotencyKeys(db: Database, now: () => number = Date.now): Promise<number> {
  return db('idempotency_keys')
    .where('created_at', '<', now() - IDEMPOTENCY_TTL_MS)
    .delete();
}
