// How every response of the request handler leaves: counted by status for
// /metrics, its head remembered for the access log, and a failure turned
// into a 502/504 page that names no internals.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { HyperstaticError } from '../common/errors';
import type { Logger } from '../common/logger';
import { formatCacheStatus, type CacheStatus } from './cache-status';
import { sendErrorPage } from './error-page';
import { countStatus, type Tally } from './metrics';

export interface Responder {
  writeHead(res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void;
  errorPage(res: ServerResponse, status: number, message: string, cacheStatus: string, head?: boolean): void;
  /** No upstream answered (or something broke): a 502/504 page, or a cut connection once the head is out. */
  fail(res: ServerResponse, error: unknown, head: boolean, status?: CacheStatus): void;
  /** Writes one access-log line when the response finishes (PROXY_ACCESS_LOG). */
  logAccess(req: IncomingMessage, res: ServerResponse): void;
}

export function createResponder(deps: { tally: Tally; logger: Logger; accessLogger?: Logger }): Responder {
  const { tally, logger, accessLogger } = deps;
  // Headers given to writeHead() are not readable back through getHeader(); the access log keeps its own copy.
  const written = new WeakMap<ServerResponse, OutgoingHttpHeaders>();

  function errorPage(res: ServerResponse, status: number, message: string, cacheStatus: string, head = false): void {
    countStatus(tally, status);
    sendErrorPage(res, status, message, cacheStatus, head);
  }

  return {
    writeHead(res, status, headers) {
      if (accessLogger) written.set(res, headers);
      countStatus(tally, status);
      res.writeHead(status, headers);
    },
    errorPage,
    fail(res, error, head, status = {}) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const code =
        error instanceof HyperstaticError && (error.status === 504 || error.status === 502) ? error.status : 502;
      if (!(error instanceof HyperstaticError)) logger.error({ err: error }, 'unexpected proxy failure');
      const message =
        code === 504
          ? 'The servers behind this cache did not answer in time, and no saved copy of this page is available.'
          : 'The servers behind this cache cannot be reached right now, and no saved copy of this page is available.';
      errorPage(res, code, message, formatCacheStatus({ ...status, detail: 'no-upstream' }), head);
    },
    logAccess(req, res) {
      if (!accessLogger) return;
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        accessLogger.info({
          method: req.method,
          url: req.url,
          status: res.statusCode,
          cacheStatus: written.get(res)?.['cache-status'] ?? res.getHeader('cache-status'),
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          bytes: Number(written.get(res)?.['content-length'] ?? res.getHeader('content-length') ?? 0) || undefined,
        });
      });
    },
  };
}
