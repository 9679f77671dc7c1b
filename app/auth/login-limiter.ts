// Login throttling with exponential backoff, counted in the database so every
// app instance sees the same tries (docs/operations.md, "Editor accounts").
//
// Each try is checked against several keys: the address it comes from (any
// account), and either the account (from a browser the account has not
// signed in from) or the trusted browser's own key (a browser that signed
// in to that account before carries a signed cookie, app/auth/trusted-browser.ts).
// So a stranger hammering an account slows only strangers: the newsroom's
// own browsers keep their own count. Past a key's free tries each further
// try waits base * 2^n, capped; nothing is ever locked for good.
//
// A try is counted BEFORE its password is checked, by a compare-and-swap
// UPDATE (WHERE failures = the value read): parallel tries cannot all read
// "under the limit" and all be checked (40 parallel tries once got 34 checks
// against a limit of 5). A success hands its count back.
import type { Database } from '../../common/db/database';

export interface LoginLimits {
  /** Failed tries from one address, at any account, before backoff starts. */
  perAddress: number;
  /** Failed tries at one account (from untrusted browsers), or from one trusted browser, before backoff starts. */
  perAccount: number;
  /** The first wait past the free tries; it doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key with no try for this long starts again from zero. */
  forgetAfterMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perAddress: 20,
  perAccount: 5,
  baseDelayMs: 30_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 24 * 3600_000,
};

export interface ThrottleKey {
  key: string;
  limit: number;
  /** What the refusal names: 'address' (the client's), 'account' or 'browser'. */
  reason: 'address' | 'account' | 'browser';
}

export type LimitVerdict =
  | { allowed: true; reserved: ThrottleKey[] }
  | { allowed: false; reason: ThrottleKey['reason']; retryAfterSeconds: number };

/** The keys a login try for `account` from `address` counts against (`browser`: a trusted browser's id). */
export function loginKeys(account: string, address: string, limits: LoginLimits, browser?: string): ThrottleKey[] {
  return [
    { key: `address:${address.slice(0, 64)}`, limit: limits.perAddress, reason: 'address' },
    browser
      ? { key: `browser:${browser.slice(0, 64)}`, limit: limits.perAccount, reason: 'browser' }
      : { key: `account:${account.toLowerCase().slice(0, 64)}`, limit: limits.perAccount, reason: 'account' },
  ];
}

/** Pure: the wait after `failures` counted failures (0 while within the free tries). */
export function backoffMs(failures: number, limit: number, limits: LoginLimits): number {
  if (failures < limit) return 0;
  return Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** Math.min(failures - limit, 30));
}

/** Counts one try against `key` if it may be checked now; the seconds to wait otherwise. */
async function reserve(db: Database, key: ThrottleKey, limits: LoginLimits, now: number): Promise<number> {
  await db('login_throttle')
    .insert({ throttle_key: key.key, failures: 0, next_at: 0, updated_at: now })
    .onConflict('throttle_key')
    .ignore();
  // Compare-and-swap: bounded, each round lets at least one contender through.
  for (let round = 0; round < 200; round++) {
    const row = await db('login_throttle').where({ throttle_key: key.key }).first('failures', 'next_at', 'updated_at');
    if (!row) return 0;
    const stale = Number(row.updated_at) < now - limits.forgetAfterMs;
    const failures = stale ? 0 : Number(row.failures);
    const nextAt = stale ? 0 : Number(row.next_at);
    if (failures >= key.limit && now < nextAt) return Math.max(1, Math.ceil((nextAt - now) / 1000));
    const counted = failures + 1;
    const swapped = await db('login_throttle')
      .where({ throttle_key: key.key, failures: row.failures, updated_at: row.updated_at })
      .update({ failures: counted, next_at: now + backoffMs(counted, key.limit, limits), updated_at: now });
    if (swapped === 1) return 0;
  }
  // Two hundred lost races in a row: treat as throttled rather than let the try through unchecked.
  return 1;
}

/**
 * Counts a login try against every key, in order, before the password is
 * checked. Refused at a key: the keys before it keep the count (a stranger's
 * refused tries still cost their address), the rest are not touched.
 */
export async function reserveLoginTry(
  db: Database,
  keys: ThrottleKey[],
  limits: LoginLimits,
  now = Date.now(),
): Promise<LimitVerdict> {
  const reserved: ThrottleKey[] = [];
  for (const key of keys) {
    const wait = await reserve(db, key, limits, now);
    if (wait > 0) return { allowed: false, reason: key.reason, retryAfterSeconds: wait };
    reserved.push(key);
  }
  return { allowed: true, reserved };
}

/**
 * The checked try succeeded: its count is handed back (a success is not a
 * failure). Nothing is reset: an attacker who knows one password must not
 * launder guesses at another account through it.
 */
export async function releaseLoginTry(db: Database, keys: ThrottleKey[], now = Date.now()): Promise<void> {
  for (const key of keys)
    await db('login_throttle')
      .where({ throttle_key: key.key })
      .where('failures', '>', 0)
      .update({ failures: db.raw('failures - 1'), updated_at: now });
}

/** Forgets keys nobody tried for a day. */
export async function purgeLoginThrottle(db: Database, limits: LoginLimits, now = Date.now()): Promise<void> {
  await db('login_throttle')
    .where('updated_at', '<', now - limits.forgetAfterMs)
    .delete();
}
