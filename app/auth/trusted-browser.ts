// A browser that signed in to an account carries a signed cookie naming that
// account (OWASP's "device cookie"): its login tries are throttled under its
// own key instead of the account's, so a stranger who hammers the account
// from elsewhere cannot keep its owner out (app/auth/login-limiter.ts).
// The cookie holds no secret of the account: an id, a nonce and an HMAC
// under the site secret (app/auth/site-secret.ts).
import { randomBytes } from 'node:crypto';
import { serialize } from 'cookie';
import type { Request, Response } from 'express';
import type { KeyedHash } from './site-secret';
import { tokensMatch } from './sessions';

export const TRUSTED_BROWSER_COOKIE = 'hs_browser';
const MAX_AGE_S = 180 * 86400;
const FORMAT = /^([1-9]\d{0,9})\.([A-Za-z0-9_-]{22})\.([0-9a-f]{64})$/;

/** The browser id (the nonce) when `cookie` is a valid trusted-browser cookie of user `userId`. */
export function trustedBrowserOf(cookie: string | undefined, userId: number, hash: KeyedHash): string | undefined {
  const match = FORMAT.exec(cookie ?? '');
  if (!match || Number(match[1]) !== userId) return undefined;
  return tokensMatch(hash('trusted-browser', `${match[1]}.${match[2]}`), match[3]) ? match[2] : undefined;
}

export function setTrustedBrowserCookie(req: Request, res: Response, userId: number, hash: KeyedHash): void {
  const nonce = randomBytes(16).toString('base64url');
  const value = `${userId}.${nonce}.${hash('trusted-browser', `${userId}.${nonce}`)}`;
  res.append(
    'Set-Cookie',
    serialize(TRUSTED_BROWSER_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/editor/login',
      secure: req.secure,
      maxAge: MAX_AGE_S,
    }),
  );
}
