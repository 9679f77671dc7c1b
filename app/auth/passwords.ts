// Password hashing with scrypt (node:crypto): salt and parameters are stored
// with the hash so they can be raised later without breaking old hashes.
// And the rules a new password must meet.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { dictionary } from '@zxcvbn-ts/language-common';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const PARAMS = { N: 16384, r: 8, p: 1 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, { ...PARAMS, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

// zxcvbn-ts's list of ~49,000 passwords seen most often in breaches (MIT);
// compared lowercased, so "Password123" is refused like "password123".
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

/** The reason `password` may not be used by `userName`, or undefined when it may. */
export function passwordProblem(password: string, userName?: string): string | undefined {
  if (password.length < 10) return 'passwords must have at least 10 characters';
  if (password.length > 1000) return 'passwords are at most 1000 characters';
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) return 'that password is on a list of common passwords; choose another';
  if (userName && lower.includes(userName.toLowerCase()) && userName.length >= 3)
    return 'passwords must not contain the user name';
  return undefined;
}
