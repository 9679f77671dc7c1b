// Login and logout. Every try is throttled before its password is checked
// (app/auth/login-limiter.ts): per address, and per account unless the
// browser signed in to that account before; past the free tries the form
// answers 429 with Retry-After. Every outcome goes to the audit log.
import express, { Router } from 'express';
import type { Response } from 'express';
import { TooManyRequestsError } from '../auth/auth-errors';
import { loginKeys, releaseLoginTry, reserveLoginTry } from '../auth/login-limiter';
import { createSession, destroySession } from '../auth/sessions';
import { keyedHashOf } from '../auth/site-secret';
import { setTrustedBrowserCookie, TRUSTED_BROWSER_COOKIE, trustedBrowserOf } from '../auth/trusted-browser';
import { authenticatePassword } from '../auth/users';
import type { EditorDeps } from './editor-deps';
import { clientAddress } from '../http/request-params';
import { parseResume, safeNext } from './form-resume';
import { renderPage } from './render';
import {
  anonCsrfToken,
  clearSessionCookie,
  cookies,
  requireAnonCsrf,
  requireCsrf,
  setSessionCookie,
  WebRequest,
} from './web-session';

export { safeNext };

const THROTTLED = {
  address: 'too many failed logins from your address; wait and try again',
  account: 'too many failed logins for this account from browsers it has not signed in from; wait and try again',
  browser: 'too many failed logins from this browser; wait and try again',
};

export function authRoutes(deps: EditorDeps): Router {
  const { db, views, audit } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  // The login form may carry a form refused when the session ended (`resume`, app/ui/form-resume.ts): up to a save's size.
  const loginForm = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 20 });

  const loginPage = (
    req: WebRequest,
    res: Response,
    values: { next: string; name: string; error?: string; resume?: string },
    status = 200,
  ) => renderPage(views, res, 'login.njk', { anonCsrf: anonCsrfToken(req, res), ...values }, status);

  /** The trusted-browser id the request's cookie carries for account `name`, if any. */
  async function trustedBrowser(req: WebRequest, name: string): Promise<string | undefined> {
    const cookie = cookies(req)[TRUSTED_BROWSER_COOKIE];
    if (!cookie || !name) return undefined;
    const user = await db('users').where({ name }).first('id');
    return user ? trustedBrowserOf(cookie, Number(user.id), await keyedHashOf(db)) : undefined;
  }

  router.get('/editor/login', (req: WebRequest, res) => {
    if (req.session) return res.redirect(303, safeNext(req.query.next));
    loginPage(req, res, { next: safeNext(req.query.next), name: '' });
  });

  router.post('/editor/login', loginForm, requireAnonCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const resumed = parseResume(body.resume);
    const resume = resumed ? JSON.stringify(resumed) : undefined;
    const name = typeof body.name === 'string' ? body.name.trim().slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const address = clientAddress(req);
    const next = safeNext(body.next);
    const keys = loginKeys(name, address, deps.loginLimits, await trustedBrowser(req, name));
    const verdict = await reserveLoginTry(db, keys, deps.loginLimits, deps.now());
    if (!verdict.allowed) {
      const error = new TooManyRequestsError(THROTTLED[verdict.reason], verdict.retryAfterSeconds);
      // One row a minute per account and address: a stranger's flood of refused tries must not flood the log.
      const recent = await db('audit_log')
        .where({ action: 'login_throttled', target: `user:${name}`, address })
        .where('at', '>', deps.now() - 60_000)
        .first('id');
      if (!recent)
        await audit.record(db, {
          action: 'login_throttled',
          actor: null,
          target: `user:${name}`,
          address,
          detail: { by: verdict.reason, retryAfterSeconds: verdict.retryAfterSeconds },
        });
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      return loginPage(req, res, { next, name, error: error.message, resume }, 429);
    }
    const user = name && password ? await authenticatePassword(db, name, password) : undefined;
    if (!user) {
      await audit.record(db, { action: 'login_failed', actor: null, target: `user:${name}`, address });
      return loginPage(req, res, { next, name, error: 'unknown user name or wrong password', resume }, 401);
    }
    await releaseLoginTry(db, verdict.reserved, deps.now());
    const { token, session } = await createSession(db, user.id, deps.now());
    await audit.record(db, { action: 'login', actor: user, target: `user:${user.name}`, address });
    setSessionCookie(req, res, token);
    setTrustedBrowserCookie(req, res, user.id, await keyedHashOf(db));
    if (!resumed) return res.redirect(303, next);
    // Logged in again with a form the ended session refused: it comes back to be checked and sent (nothing was saved).
    Object.assign(res.locals, { session, user: session.user, csrf: session.csrfToken });
    const notice = 'you are logged in again; nothing was saved yet: check your form and submit it again';
    renderPage(views, res, 'resubmit.njk', { ...resumed, notice });
  });

  router.post('/editor/logout', form, requireCsrf, async (req: WebRequest, res) => {
    if (req.session) {
      await destroySession(db, req.session.id);
      const user = req.session.user;
      await audit.record(db, {
        action: 'logout',
        actor: user,
        target: `user:${user.name}`,
        address: clientAddress(req),
      });
    }
    clearSessionCookie(req, res);
    res.redirect(303, '/editor/login');
  });

  return router;
}
