// Errors on editor pages become HTML pages; JSON API errors fall through to
// the app's JSON error handler (app/http-errors.ts).
import express, { type ErrorRequestHandler } from 'express';
import { HyperstaticError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { CsrfError, FormExpiredError } from '../auth/auth-errors';
import { asUnavailable } from '../http-errors';
import { resumableForm, safeNext } from './form-resume';
import { renderPage } from './render';
import type { Views } from './views';
import { anonCsrfToken, WebRequest } from './web-session';

export function htmlErrors(views: Views, logger: Logger, maxBodyBytes: number): ErrorRequestHandler {
  // A post refused before its body was read (no session: app/ui/web-session.ts requireRole) is read here to be given back.
  const urlencoded = express.urlencoded({ extended: false, limit: maxBodyBytes, parameterLimit: 100 });
  return (error, req, res, next) => {
    if (req.path.startsWith('/api') || res.headersSent) return next(error);
    const typed = error instanceof HyperstaticError ? error : asUnavailable(error);
    const parser = error as { type?: string; status?: number };
    if (!typed) {
      if (parser.type === 'entity.too.large')
        return renderPage(
          views,
          res,
          'error.njk',
          { status: 413, message: 'The form is larger than this site accepts.' },
          413,
        );
      if (parser.status && parser.status >= 400 && parser.status < 500)
        return renderPage(
          views,
          res,
          'error.njk',
          { status: parser.status, message: 'The request could not be read.' },
          parser.status,
        );
      return next(error);
    }
    const page = () => {
      if (typed.status >= 500) logger.warn({ err: error, url: req.originalUrl }, typed.message);
      const retry = (typed as { retryAfterSeconds?: number }).retryAfterSeconds;
      if (retry) res.set('Retry-After', String(retry));
      // A 413 answered while the client is still sending: close rather than read the rest.
      if (typed.status === 413) res.set('Connection', 'close');
      renderPage(views, res, 'error.njk', { status: typed.status, message: typed.message }, typed.status);
    };
    if (!(typed instanceof CsrfError) || req.method !== 'POST' || !req.is('application/x-www-form-urlencoded'))
      return page();
    urlencoded(req, res, (parseError?: unknown) => {
      const resumable = parseError ? undefined : resumableForm(req.originalUrl, req.body);
      if (resumable) giveBack(views, req, res, resumable);
      else page();
    });
  };
}

/**
 * A form refused for its token is given back, not lost: with a live session,
 * in a form to check and send again (fresh token, 403); with the session
 * ended, in the login form (401), which shows it again once logged in.
 */
function giveBack(
  views: Views,
  req: WebRequest,
  res: Parameters<ErrorRequestHandler>[2],
  form: NonNullable<ReturnType<typeof resumableForm>>,
): void {
  const expired = new FormExpiredError().message;
  if (req.session) {
    renderPage(views, res, 'resubmit.njk', { ...form, error: expired }, 403);
    return;
  }
  // The login form itself, opened too long ago (its cookie token renewed): shown again with the name typed.
  if (form.action === '/editor/login') {
    const body = req.body as Record<string, unknown>;
    const name = typeof body.name === 'string' ? body.name.slice(0, 64) : '';
    const next = safeNext(body.next);
    const resume = typeof body.resume === 'string' ? body.resume : undefined;
    renderPage(views, res, 'login.njk', { anonCsrf: anonCsrfToken(req, res), next, name, resume, error: expired }, 403);
    return;
  }
  const context = {
    anonCsrf: anonCsrfToken(req, res),
    next: form.action,
    name: '',
    error: 'your session ended: log in, then check your form and submit it again',
    resume: JSON.stringify(form),
  };
  renderPage(views, res, 'login.njk', context, 401);
}
