// The one place errors become HTTP responses: typed errors keep their status
// and message, a dead dependency becomes 503 + Retry-After, and anything else
// is a 500 whose details go to the log, never to the client.
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../common/logger';
import { BadRequestError, HyperstaticError, UnavailableError } from './errors';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_BUSY',
  // 1290: the server runs with --read-only (a fenced or demoted primary).
  'ER_OPTION_PREVENTS_STATEMENT',
]);

/** A database or queue outage, as a 503 the client may retry; undefined for anything else. */
export function asUnavailable(error: unknown): UnavailableError | undefined {
  if (error instanceof UnavailableError) return error;
  const e = error as { code?: string; name?: string; errno?: number; fatal?: boolean } | null;
  if (!e) return undefined;
  // mysql2 marks connection-level failures fatal; a session killed by a
  // failover's fence surfaces as one when knex then tries to ROLLBACK.
  if (
    (e.code && CONNECTION_CODES.has(e.code)) ||
    e.name === 'KnexTimeoutError' ||
    e.errno === 1290 ||
    (e.fatal === true && !e.errno)
  ) {
    const what =
      e.code === 'ER_OPTION_PREVENTS_STATEMENT'
        ? 'the database is read-only (a failover may be in progress)'
        : 'the database is unreachable';
    return new UnavailableError(`${what}; nothing was saved, retry shortly`, { cause: error });
  }
  return undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let typed: HyperstaticError | undefined = error instanceof HyperstaticError ? error : asUnavailable(error);
    const bodyParser = error as { type?: string; status?: number; limit?: number };
    if (!typed && bodyParser.type === 'entity.parse.failed')
      typed = new BadRequestError('the request body is not valid JSON');
    if (!typed && bodyParser.type === 'entity.too.large') {
      typed = new HyperstaticError('HS_TOO_LARGE', 413, `the request body is larger than ${bodyParser.limit} bytes`);
    }
    if (!typed && bodyParser.status && bodyParser.status >= 400 && bodyParser.status < 500) {
      typed = new HyperstaticError('HS_BAD_REQUEST', bodyParser.status, 'the request could not be read');
    }
    if (!typed) {
      logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
      typed = new HyperstaticError('HS_INTERNAL', 500, 'internal error; it has been logged');
    } else if (typed.status >= 500) {
      logger.warn({ err: error, method: req.method, url: req.originalUrl }, typed.message);
    }
    if (typed instanceof UnavailableError) res.set('Retry-After', String(typed.retryAfterSeconds));
    if (res.headersSent) {
      res.end();
      return;
    }
    const field = (typed as { field?: string }).field;
    res.status(typed.status).json({ error: { code: typed.code, message: typed.message, ...(field ? { field } : {}) } });
  };
}
