// Users and their API tokens. A token is shown once; only its sha256 is kept.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../common/db/database';
import { sha256Hex } from '../../common/hash';
import { insertId } from '../content/item-writes';
import { BadRequestError, ConflictError, NotFoundError, UnauthorizedError } from '../errors';
import { ForbiddenError } from './auth-errors';
import { hashPassword, passwordProblem, verifyPassword } from './passwords';
import { freeAuthorSlug } from './people';

export const ROLES = ['admin', 'editor', 'moderator'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  name: string;
  role: Role;
}

const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

export async function createUser(
  db: Database,
  name: string,
  role: Role,
  password: string | null,
  now = Date.now(),
): Promise<User> {
  if (!USER_NAME.test(name))
    throw new BadRequestError('user names are 1-64 letters, digits, dots, hyphens or underscores', 'name');
  if (!ROLES.includes(role)) throw new BadRequestError(`role must be one of ${ROLES.join(', ')}`, 'role');
  const problem = password === null ? undefined : passwordProblem(password, name);
  if (problem) throw new BadRequestError(problem, 'password');
  if (await db('users').where({ name }).first('id')) throw new ConflictError(`user "${name}" already exists`, 'name');
  // Public as the login name was until the user or an admin gives another (app/auth/people.ts).
  const id = await insertId(db, 'users', {
    name,
    display_name: name,
    slug: await freeAuthorSlug(db, name),
    role,
    password_hash: password === null ? null : await hashPassword(password),
    created_at: now,
  });
  return { id, name, role };
}

export async function findUser(db: Database, name: string): Promise<User> {
  const row = await db('users').where({ name }).first('id', 'name', 'role');
  if (!row) throw new NotFoundError(`user "${name}"`);
  return row as User;
}

export async function createApiToken(db: Database, userName: string, label = '', now = Date.now()): Promise<string> {
  const user = await findUser(db, userName);
  const token = `hs_${randomBytes(24).toString('base64url')}`;
  await db('api_tokens').insert({ user_id: user.id, token_hash: sha256Hex(token), label, created_at: now });
  return token;
}

/** The user a bearer token belongs to, and the token's id; UnauthorizedError for unknown or revoked tokens. */
export async function authenticateToken(db: Database, token: string): Promise<User & { tokenId: number }> {
  if (!/^hs_[A-Za-z0-9_-]{20,64}$/.test(token)) throw new UnauthorizedError();
  const row = await db('api_tokens')
    .join('users', 'users.id', 'api_tokens.user_id')
    .where({ 'api_tokens.token_hash': sha256Hex(token) })
    .whereNull('api_tokens.revoked_at')
    .first('users.id', 'users.name', 'users.role', 'api_tokens.id as token_id');
  if (!row) throw new UnauthorizedError();
  return { id: row.id, name: row.name, role: row.role as Role, tokenId: Number(row.token_id) };
}

export interface UserSummary extends User {
  displayName: string;
  slug: string;
  createdAt: number;
  hasPassword: boolean;
  tokens: number;
}

export async function listUsers(db: Database): Promise<UserSummary[]> {
  const rows = await db('users')
    .orderBy('name')
    .select('id', 'name', 'role', 'display_name', 'slug', 'created_at', 'password_hash');
  const counts: { user_id: number; n: number | string }[] = await db('api_tokens')
    .whereNull('revoked_at')
    .groupBy('user_id')
    .select('user_id')
    .count({ n: '*' });
  const byUser = new Map(counts.map((c) => [Number(c.user_id), Number(c.n)]));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role as Role,
    displayName: r.display_name ?? r.name,
    slug: r.slug ?? '',
    createdAt: Number(r.created_at),
    hasPassword: r.password_hash != null,
    tokens: byUser.get(r.id) ?? 0,
  }));
}

export async function setPassword(db: Database, name: string, password: string): Promise<User> {
  const problem = passwordProblem(password, name);
  if (problem) throw new BadRequestError(problem, 'password');
  const user = await findUser(db, name);
  await db('users')
    .where({ id: user.id })
    .update({ password_hash: await hashPassword(password) });
  // A reset password ends every open session of that user.
  await db('sessions').where({ user_id: user.id }).delete();
  return user;
}

export interface OwnPasswordChange {
  currentPassword: string;
  newPassword: string;
  /** Also revoke every API token of the user (but `keepTokenId`, the one asking through the API). */
  revokeTokens: boolean;
  /** The session asking (editor UI): it stays signed in; every other session ends. */
  keepSessionId?: string;
  keepTokenId?: number;
}

/**
 * A user changes their own password: the current one must be right (400
 * naming currentPassword otherwise), the new one must pass passwordProblem.
 * Ends the user's other sessions and, if asked, revokes their tokens.
 */
export async function changeOwnPassword(
  db: Database,
  user: User,
  change: OwnPasswordChange,
  now = Date.now(),
): Promise<{ sessionsEnded: number; tokensRevoked: number }> {
  if (!(await authenticatePassword(db, user.name, change.currentPassword)))
    throw new BadRequestError('the current password is wrong', 'currentPassword');
  const problem = passwordProblem(change.newPassword, user.name);
  if (problem) throw new BadRequestError(problem, 'newPassword');
  if (change.newPassword === change.currentPassword)
    throw new BadRequestError('the new password must differ from the current one', 'newPassword');
  await db('users')
    .where({ id: user.id })
    .update({ password_hash: await hashPassword(change.newPassword) });
  const sessions = db('sessions').where({ user_id: user.id });
  if (change.keepSessionId) sessions.whereNot({ id: change.keepSessionId });
  const sessionsEnded = await sessions.delete();
  let tokensRevoked = 0;
  if (change.revokeTokens) {
    const tokens = db('api_tokens').where({ user_id: user.id }).whereNull('revoked_at');
    if (change.keepTokenId !== undefined) tokens.whereNot({ id: change.keepTokenId });
    tokensRevoked = await tokens.update({ revoked_at: now });
  }
  return { sessionsEnded, tokensRevoked };
}

/** Ends every session of user `name` (an admin's action); returns how many. */
export async function endSessions(db: Database, name: string): Promise<{ user: User; sessionsEnded: number }> {
  const user = await findUser(db, name);
  return { user, sessionsEnded: await db('sessions').where({ user_id: user.id }).delete() };
}

/**
 * Changes a user's role. `by` names the editor asking (UI and API): nobody
 * changes their own role there, so an admin cannot lock the site out of its
 * last admin by accident. The operator's CLI passes no `by`.
 */
export async function setRole(db: Database, name: string, role: Role, by?: string): Promise<User> {
  if (by !== undefined && by === name) throw new BadRequestError('you cannot change your own role', 'role');
  if (!ROLES.includes(role)) throw new BadRequestError(`role must be one of ${ROLES.join(', ')}`, 'role');
  const user = await findUser(db, name);
  await db('users').where({ id: user.id }).update({ role });
  return { ...user, role };
}

/** The user a name and password identify, or undefined. Unknown names cost a hash too (no timing oracle). */
export async function authenticatePassword(db: Database, name: string, password: string): Promise<User | undefined> {
  const row = USER_NAME.test(name)
    ? await db('users').where({ name }).first('id', 'name', 'role', 'password_hash')
    : undefined;
  const stored = (row?.password_hash as string | null | undefined) ?? DUMMY_HASH;
  const ok = await verifyPassword(password.slice(0, 1000), stored);
  if (!row || !row.password_hash || !ok) return undefined;
  return { id: row.id, name: row.name, role: row.role as Role };
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$LXItd9mcru583Tx+KQk9JVfN268kUDBAHryAaAG0e48=';

export interface TokenSummary {
  id: number;
  user: string;
  label: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export async function listTokens(db: Database, userName?: string): Promise<TokenSummary[]> {
  const query = db('api_tokens')
    .join('users', 'users.id', 'api_tokens.user_id')
    .orderBy('api_tokens.id')
    .select('api_tokens.*', 'users.name as user_name');
  if (userName) query.where('users.name', userName);
  return (await query).map((r) => ({
    id: r.id,
    user: r.user_name,
    label: r.label,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at == null ? null : Number(r.last_used_at),
    revokedAt: r.revoked_at == null ? null : Number(r.revoked_at),
  }));
}

/**
 * Revokes a token by id; a revoked token stops working on the next request.
 * `by` is the editor asking (UI and API): only admins revoke other users'
 * tokens. The operator's CLI passes no `by`.
 */
export async function revokeToken(
  db: Database,
  id: number,
  now = Date.now(),
  by?: Pick<User, 'name' | 'role'>,
): Promise<TokenSummary> {
  const row = await db('api_tokens')
    .join('users', 'users.id', 'api_tokens.user_id')
    .where('api_tokens.id', id)
    .first('api_tokens.id', 'users.name as owner');
  if (!row) throw new NotFoundError(`token ${id}`);
  if (by && row.owner !== by.name && by.role !== 'admin')
    throw new ForbiddenError("only admins revoke other users' tokens");
  await db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
  return (await listTokens(db)).find((t) => t.id === id)!;
}
