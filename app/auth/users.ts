// Users and their API tokens. A token is shown once; only its sha256 is kept.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../common/database';
import { sha256Hex } from '../../common/hash';
import { insertId } from '../articles/articles-service';
import { BadRequestError, ConflictError, NotFoundError, UnauthorizedError } from '../errors';
import { hashPassword } from './passwords';

export const ROLES = ['admin', 'editor', 'moderator'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  name: string;
  role: Role;
}

const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

export async function createUser(db: Database, name: string, role: Role, password: string | null, now = Date.now()): Promise<User> {
  if (!USER_NAME.test(name)) throw new BadRequestError('user names are 1-64 letters, digits, dots, hyphens or underscores', 'name');
  if (!ROLES.includes(role)) throw new BadRequestError(`role must be one of ${ROLES.join(', ')}`, 'role');
  if (password !== null && password.length < 10) throw new BadRequestError('passwords must have at least 10 characters', 'password');
  if (await db('users').where({ name }).first('id')) throw new ConflictError(`user "${name}" already exists`, 'name');
  const id = await insertId(db, 'users', { name, role, password_hash: password === null ? null : await hashPassword(password), created_at: now });
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

/** The user a bearer token belongs to; UnauthorizedError for unknown or revoked tokens. */
export async function authenticateToken(db: Database, token: string): Promise<User> {
  if (!/^hs_[A-Za-z0-9_-]{20,64}$/.test(token)) throw new UnauthorizedError();
  const row = await db('api_tokens')
    .join('users', 'users.id', 'api_tokens.user_id')
    .where({ 'api_tokens.token_hash': sha256Hex(token) })
    .whereNull('api_tokens.revoked_at')
    .first('users.id', 'users.name', 'users.role');
  if (!row) throw new UnauthorizedError();
  return row as User;
}
