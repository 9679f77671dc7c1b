// Errors on editor pages become HTML pages; JSON API errors fall through to
// the app's JSON error handler (app/http-errors.ts).
import type { ErrorRequestHandler } from 'express';
import { HyperstaticError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { asUnavailable } from '../http-errors';
import { renderPage } from './render';
import type { Views } from './views';

export function htmlErrors(views: Views, logger: Logger): ErrorRequestHandler {
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
    if (typed.status >= 500) logger.warn({ err: error, url: req.originalUrl }, typed.message);
    const retry = (typed as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retry) res.set('Retry-After', String(retry));
    // A 413 answered while the client is still sending: close rather than read the rest.
    if (typed.status === 413) res.set('Connection', 'close');
    renderPage(views, res, 'error.njk', { status: typed.status, message: typed.message }, typed.status);
  };
}
