// Login rate limiting per account and per address, counted in the database
// so every app instance sees the same attempts. Only failures count; a
// success does not reset the window (an attacker who knows one password
// must not be able to launder guesses at another account through it).
import type { Database } from '../../common/db/database';

export interface LoginLimits {
  windowMs: number;
  perAccount: number;
  perAddress: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perAccount: 5, perAddress: 20 };

export interface LimitVerdict {
  allowed: boolean;
  /** Seconds until the oldest counted failure leaves the window. */
  retryAfterSeconds: number;
  reason?: 'account' | 'address';
}

export async function checkLoginAllowed(
  db: Database,
  account: string,
  address: string,
  limits: LoginLimits,
  now = Date.now(),
): Promise<LimitVerdict> {
  const since = now - limits.windowMs;
  for (const [column, value, max, reason] of [
    ['account', account.toLowerCase().slice(0, 64), limits.perAccount, 'account'],
    ['address', address.slice(0, 64), limits.perAddress, 'address'],
  ] as const) {
    const rows = await db('login_attempts')
      .where(column, value)
      .where('succeeded', false)
      .where('at', '>', since)
      .orderBy('at', 'desc')
      .limit(max)
      .select('at');
    if (rows.length >= max) {
      const oldest = Number(rows[rows.length - 1].at);
      return {
        allowed: false,
        reason,
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + limits.windowMs - now) / 1000)),
      };
    }
  }
  return { allowed: true, retryAfterSeconds: 0 };
}

export async function recordLoginAttempt(
  db: Database,
  account: string,
  address: string,
  succeeded: boolean,
  now = Date.now(),
): Promise<void> {
  await db('login_attempts').insert({
    account: account.toLowerCase().slice(0, 64),
    address: address.slice(0, 64),
    succeeded,
    at: now,
  });
  // Keep the table small: attempts older than a day matter to nobody.
  if (Math.random() < 0.01)
    await db('login_attempts')
      .where('at', '<', now - 86400_000)
      .delete();
}
