// Editor sessions, stored in the database so any app instance serves any
// editor. The cookie holds a random token; the table keeps only its sha256,
// so a leaked database dump does not hand out live sessions. Each session
// carries its own CSRF token (synchronizer pattern): a token from another
// session, or from one that was logged out, is refused.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../../common/db/database';
import { sha256Hex } from '../../common/hash';
import type { Role, User } from './users';

export const SESSION_COOKIE = 'hs_session';
export const SESSION_TTL_MS = 12 * 3600_000;

export interface Session {
  id: string;
  user: User;
  csrfToken: string;
  expiresAt: number;
}

export async function createSession(
  db: Database,
  userId: number,
  now = Date.now(),
): Promise<{ token: string; session: Session }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const id = sha256Hex(token);
  const expiresAt = now + SESSION_TTL_MS;
  await db('sessions').insert({ id, user_id: userId, csrf_token: csrfToken, created_at: now, expires_at: expiresAt });
  const user = await db('users').where({ id: userId }).first('id', 'name', 'role');
  return {
    token,
    session: { id, user: { id: user.id, name: user.name, role: user.role as Role }, csrfToken, expiresAt },
  };
}

/** The live session a cookie value names, or undefined (unknown, expired or malformed). */
export async function loadSession(
  db: Database,
  token: string | undefined,
  now = Date.now(),
): Promise<Session | undefined> {
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const row = await db('sessions')
    .join('users', 'users.id', 'sessions.user_id')
    .where('sessions.id', sha256Hex(token))
    .where('sessions.expires_at', '>', now)
    .first(
      'sessions.id',
      'sessions.csrf_token',
      'sessions.expires_at',
      'users.id as user_id',
      'users.name',
      'users.role',
    );
  if (!row) return undefined;
  return {
    id: row.id,
    csrfToken: row.csrf_token,
    expiresAt: Number(row.expires_at),
    user: { id: row.user_id, name: row.name, role: row.role as Role },
  };
}

export async function destroySession(db: Database, id: string): Promise<void> {
  await db('sessions').where({ id }).delete();
}

export async function purgeExpiredSessions(db: Database, now = Date.now()): Promise<void> {
  await db('sessions').where('expires_at', '<=', now).delete();
}

export function tokensMatch(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Byte lengths, not string lengths: timingSafeEqual throws on a non-ASCII token of the same character count.
  return a.length === b.length && timingSafeEqual(a, b);
}
