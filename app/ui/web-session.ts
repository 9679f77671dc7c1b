// Cookie sessions and CSRF for the editor UI's forms.
//   Logged-in forms: the session's own CSRF token (synchronizer pattern), so
//   a token replayed from another or an ended session is refused.
//   Anonymous forms (login, public submission): a double-submit cookie; the
//   cookie is SameSite=Strict and HttpOnly, so a cross-site page can neither
//   send nor read it.
import { randomBytes } from 'node:crypto';
import { parse as parseCookies, serialize } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import type { Database } from '../../common/db/database';
import { CsrfError, ForbiddenError, FormExpiredError } from '../auth/auth-errors';
import { loadSession, Session, SESSION_COOKIE, SESSION_TTL_MS, tokensMatch } from '../auth/sessions';
import type { Role } from '../auth/users';

export const ANON_CSRF_COOKIE = 'hs_csrf';

/**
 * Editor and submission pages: never cached, never framed, and a CSP that
 * allows only this origin's own script and styles, so markup that got past
 * the sanitizer still could not run (defence in depth).
 */
export const EDITOR_HEADERS = {
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; media-src 'self' http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
};

export type WebRequest = Request & {
  session?: Session;
  cookies?: Record<string, string | undefined>;
  anonCsrf?: string;
};

export function cookies(req: WebRequest): Record<string, string | undefined> {
  req.cookies ??= parseCookies(req.get('cookie') ?? '');
  return req.cookies;
}

export function setSessionCookie(req: Request, res: Response, token: string): void {
  res.append(
    'Set-Cookie',
    serialize(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: req.secure,
      maxAge: SESSION_TTL_MS / 1000,
    }),
  );
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.append(
    'Set-Cookie',
    serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/', secure: req.secure, maxAge: 0 }),
  );
}

/** Loads the session a cookie names (if any) into req.session and res.locals. */
export function sessionLoader(db: Database) {
  return async (req: WebRequest, res: Response, next: NextFunction): Promise<void> => {
    req.session = await loadSession(db, cookies(req)[SESSION_COOKIE]);
    res.locals.session = req.session;
    res.locals.user = req.session?.user;
    res.locals.csrf = req.session?.csrfToken;
    // Editor pages hold unpublished drafts: never cache them, never frame them.
    res.set(EDITOR_HEADERS);
    next();
  };
}

/** Redirects to the login page (HTML) when no one is logged in; 403 when the role may not do this. */
export function requireRole(...roles: Role[]) {
  return (req: WebRequest, res: Response, next: NextFunction): void => {
    if (!req.session) {
      if (req.method === 'GET') {
        res.redirect(303, `/editor/login?next=${encodeURIComponent(req.originalUrl.slice(0, 500))}`);
        return;
      }
      throw new CsrfError();
    }
    if (roles.length > 0 && !roles.includes(req.session.user.role)) {
      throw new ForbiddenError(`this needs the ${roles.join(' or ')} role; you are ${req.session.user.role}`);
    }
    next();
  };
}

/** Every state-changing request of a logged-in editor carries the session's CSRF token (form field or X-CSRF-Token). */
export function requireCsrf(req: WebRequest, _res: Response, next: NextFunction): void {
  const given = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.get('x-csrf-token');
  if (!req.session || !tokensMatch(req.session.csrfToken, given)) throw new CsrfError();
  next();
}

/** Shows a form again after a refusal: what was posted, the problem, a fresh token. */
export type ShowAgain = (req: WebRequest, res: Response, error: FormExpiredError) => Promise<void> | void;

/**
 * requireCsrf for a form that can be shown again: a logged-in editor whose
 * form carries another token (opened before they last logged in) gets the
 * form back with what they typed and the session's token, 403, nothing done.
 * The response is readable only by this origin's pages (no CORS, not
 * framable), and a cross-site POST carries no session cookie (SameSite=Lax),
 * so a forged post gains nothing but a form the editor must submit themselves.
 */
export function requireCsrfOr(again: ShowAgain) {
  return (req: WebRequest, res: Response, next: NextFunction): void => {
    const given = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.get('x-csrf-token');
    if (req.session && !tokensMatch(req.session.csrfToken, given)) {
      Promise.resolve(again(req, res, new FormExpiredError())).catch(next);
      return;
    }
    requireCsrf(req, res, next);
  };
}

/** Issues (or reuses) the anonymous double-submit token for a public form. */
export function anonCsrfToken(req: WebRequest, res: Response): string {
  const existing = cookies(req)[ANON_CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const token = randomBytes(24).toString('base64url');
  res.append(
    'Set-Cookie',
    serialize(ANON_CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure }),
  );
  return token;
}

function anonCsrfMatches(req: WebRequest): boolean {
  const cookie = cookies(req)[ANON_CSRF_COOKIE];
  const given = (req.body as Record<string, unknown> | undefined)?._csrf;
  return Boolean(cookie && /^[A-Za-z0-9_-]{32}$/.test(cookie) && tokensMatch(cookie, given));
}

export function requireAnonCsrf(req: WebRequest, _res: Response, next: NextFunction): void {
  if (!anonCsrfMatches(req)) throw new CsrfError();
  next();
}

/** requireAnonCsrf for a public form that can be shown again (with a fresh cookie token) instead of refused bare. */
export function requireAnonCsrfOr(again: ShowAgain) {
  return (req: WebRequest, res: Response, next: NextFunction): void => {
    if (anonCsrfMatches(req)) return next();
    Promise.resolve(again(req, res, new FormExpiredError())).catch(next);
  };
}
