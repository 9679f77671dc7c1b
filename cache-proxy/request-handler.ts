// One reader request, start to finish: a fresh hit (fresh-hit.ts) first,
// then normalize the target and route it: ops endpoints
// (operator-routes.ts), a 404 for operator paths (never forwarded: a
// mirror's /_mirror/status names the origin), the cacheable path
// (serve-cacheable.ts), PURGE, refused methods, or a pass-through to an
// upstream (pass-through.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/logger';
import { isOperatorPath, isOperatorRequest } from '../common/operator-access';
import type { Ops } from '../common/ops';
import type { Filler } from './cache-fill';
import { formatCacheStatus } from './cache-status';
import type { FastAnswer } from './fast-server';
import { createFeedRelay, type FeedStreamLimits } from './feed-streams';
import { createFreshHits, type HitAnswer } from './fresh-hit';
import type { GraceLimits } from './grace';
import { countStatus, type ProxyMetrics } from './metrics';
import { normalizeTarget, NormalizeError, type NormalizedTarget } from './normalize';
import { serveOps } from './operator-routes';
import { createPassThrough } from './pass-through';
import { handlePurge } from './purge';
import { createResponder, type Responder } from './responder';
import type { PurgeMode } from './soft-purge';
import type { ResponseCache } from './response-cache';
import { createCacheableServer, policyHeaders } from './serve-cacheable';
import type { UpstreamPool } from './upstream-pool';

export interface HandlerOptions {
  /** When a stale copy may be served (grace.ts). */
  readonly grace: GraceLimits;
  /** How long a request waits for a fetch it joined before giving up. */
  readonly coalesceWaitMs: number;
  readonly accessLog: boolean;
  /** Bearer token of PURGE; empty disables it. */
  readonly purgeToken: string;
  /** Bearer token that opens /metrics and readiness details on the public port; empty: only the operator listener has them. */
  readonly adminToken: string;
  /** What the fast path announces in Keep-Alive, as node:http would. */
  readonly keepAliveSeconds: number;
  /** Readers' change-feed streams relayed at once, overall and per address. */
  readonly feedStreams: FeedStreamLimits;
}

export interface HandlerDeps {
  readonly cache: ResponseCache;
  readonly filler: Filler;
  readonly pool: UpstreamPool;
  readonly metrics: ProxyMetrics;
  readonly ops: Ops;
  readonly logger: Logger;
  readonly options: HandlerOptions;
  /** The proxy's clock, in ms. */
  readonly now: () => number;
  /** Evicts a path everywhere it may be stored (every worker, in cluster mode). */
  readonly purge: (path: string, mode?: PurgeMode) => void;
  /** In cluster mode: every worker's metrics, summed by the primary, so one scrape sees the whole proxy. */
  readonly clusterMetrics?: () => Promise<string>;
}

export interface RequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The connection-level fast path's question: the bytes of a fresh hit for this plain request, if we hold one. */
  readonly answerFast: FastAnswer;
  /** HTTP/2's: the status, headers and body of a fresh hit, if we hold one. */
  readonly answerHit: HitAnswer;
}

export function createRequestHandler(deps: HandlerDeps): RequestHandler {
  const { cache, filler, pool, metrics, logger, options } = deps;
  const accessLogger = options.accessLog ? logger.child({ log: 'access' }) : undefined;
  const respond = createResponder({ tally: metrics.tally, logger, accessLogger });
  const hits = createFreshHits({
    cache,
    tally: metrics.tally,
    respond,
    now: deps.now,
    keepAliveSeconds: options.keepAliveSeconds,
    accessLogger,
  });
  const serveCacheable = createCacheableServer({ cache, filler, metrics, respond, options });
  const passThrough = createPassThrough({
    pool,
    respond,
    invalidate(path) {
      cache.evictPath(path);
      filler.invalidate(path);
    },
  });

  const relayFeed = createFeedRelay({ limits: options.feedStreams, passThrough, respond, metrics });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    respond.logAccess(req, res);
    if (hits.serve(req, res)) return;
    const head = req.method === 'HEAD';
    const target = normalizeOrReject(req, res, respond);
    if (target === undefined) return;
    if (serveOps(req, res, target.path, isOperatorRequest(req, options.adminToken), deps)) return;
    if (isOperatorPath(target.path)) {
      // The proxy's own answer, whatever the method: an upstream's operator endpoints are not the public's.
      respond.errorPage(res, 404, 'There is no page at this address.', formatCacheStatus({ fwd: 'bypass' }), head);
      return;
    }
    if (relayFeed(req, res, target)) return;
    const failed = (error: unknown) => respond.fail(res, error, head);

    switch (req.method) {
      case 'GET':
      case 'HEAD':
        if (req.headers.range && !cache.lookup(target.url, policyHeaders(req)).entry) {
          // A range of something we do not hold (typically large media): stream it through, Range and all.
          passThrough(req, res, target, { fwd: 'miss', detail: 'range' }).catch(failed);
          return;
        }
        serveCacheable(req, res, target).catch(failed);
        return;
      case 'PURGE':
        countStatus(metrics.tally, handlePurge(req, res, target.path, options.purgeToken, deps.purge));
        return;
      case 'CONNECT':
      case 'TRACE':
        // TRACE would echo readers' cookies back through a shared cache.
        respond.errorPage(
          res,
          405,
          `${req.method} is not supported here.`,
          formatCacheStatus({ fwd: 'method', detail: 'refused' }),
        );
        return;
      default:
        passThrough(req, res, target, { fwd: 'method' }).catch(failed);
    }
  }

  return Object.assign(handle, { answerFast: hits.answerFast, answerHit: hits.answerHit });
}

/** The normalized target, or undefined once a 400 (or the status NormalizeError names) has been sent. */
function normalizeOrReject(
  req: IncomingMessage,
  res: ServerResponse,
  respond: Responder,
): NormalizedTarget | undefined {
  try {
    return normalizeTarget(req.url ?? '/');
  } catch (error) {
    const status = error instanceof NormalizeError ? error.status : 400;
    respond.errorPage(
      res,
      status,
      error instanceof Error ? error.message : 'Bad request.',
      formatCacheStatus({ fwd: 'bypass', detail: 'rejected' }),
      req.method === 'HEAD',
    );
    return undefined;
  }
}
