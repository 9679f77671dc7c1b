// Login and logout. Failed logins are counted per account and per address
// in the database; past the limit the form answers 429 with Retry-After and
// does not even check the password.
import express, { Router } from 'express';
import { TooManyRequestsError } from '../auth/auth-errors';
import { checkLoginAllowed, recordLoginAttempt } from '../auth/login-limiter';
import { createSession, destroySession } from '../auth/sessions';
import { authenticatePassword } from '../auth/users';
import type { EditorDeps } from './editor-deps';
import { clientAddress } from '../http/request-params';
import { renderPage } from './render';
import {
  anonCsrfToken,
  clearSessionCookie,
  requireAnonCsrf,
  requireCsrf,
  setSessionCookie,
  WebRequest,
} from './web-session';

/** Only same-site paths under /editor: never an open redirect. */
export function safeNext(raw: unknown): string {
  return typeof raw === 'string' &&
    /^\/editor(\/[A-Za-z0-9/_?=&.%-]*)?$/.test(raw) &&
    !/(^|\/)\.\.?(\/|$)|%2e/i.test(raw)
    ? raw
    : '/editor';
}

export function authRoutes(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  router.get('/editor/login', (req: WebRequest, res) => {
    if (req.session) return res.redirect(303, safeNext(req.query.next));
    renderPage(views, res, 'login.njk', {
      anonCsrf: anonCsrfToken(req, res),
      next: safeNext(req.query.next),
      name: '',
    });
  });

  router.post('/editor/login', form, requireAnonCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const name = typeof body.name === 'string' ? body.name.trim().slice(0, 64) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const address = clientAddress(req);
    const next = safeNext(body.next);
    const verdict = await checkLoginAllowed(db, name, address, deps.loginLimits, deps.now());
    if (!verdict.allowed) {
      const error = new TooManyRequestsError(
        verdict.reason === 'account'
          ? 'too many failed logins for this account; wait and try again'
          : 'too many failed logins from your address; wait and try again',
        verdict.retryAfterSeconds,
      );
      res.set('Retry-After', String(verdict.retryAfterSeconds));
      return renderPage(
        views,
        res,
        'login.njk',
        { anonCsrf: anonCsrfToken(req, res), next, name, error: error.message },
        429,
      );
    }
    const user = name && password ? await authenticatePassword(db, name, password) : undefined;
    await recordLoginAttempt(db, name, address, Boolean(user), deps.now());
    if (!user) {
      return renderPage(
        views,
        res,
        'login.njk',
        { anonCsrf: anonCsrfToken(req, res), next, name, error: 'unknown user name or wrong password' },
        401,
      );
    }
    const { token } = await createSession(db, user.id, deps.now());
    setSessionCookie(req, res, token);
    res.redirect(303, next);
  });

  router.post('/editor/logout', form, requireCsrf, async (req: WebRequest, res) => {
    if (req.session) await destroySession(db, req.session.id);
    clearSessionCookie(req, res);
    res.redirect(303, '/editor/login');
  });

  return router;
}
