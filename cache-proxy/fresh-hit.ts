// The one fresh-hit path. A plain GET or HEAD of a normal target whose
// stored copy is fresh is answered from the hot headers (hit-path.ts) with
// no http-cache-semantics work and no per-request allocation of our own.
// Three front doors ask it: node:http's request handler, the
// connection-level fast path (fast-server.ts), which writes the same answer
// as prebuilt bytes, and HTTP/2 streams (tls-listener.ts), which get the
// status and hot headers without node's compatibility objects. Everything else takes the full path (serve-cacheable.ts).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../common/logger';
import type { FastAnswer } from './fast-server';
import {
  h2Hit,
  hotHead,
  hotHeaders,
  hotNotModifiedHead,
  hotNotModifiedHeaders,
  isFresh,
  isNotModified,
  isPlainRequest,
} from './hit-path';
import { countStatus, type Tally } from './metrics';
import { isNormalTarget } from './normalize';
import type { Responder } from './responder';
import type { CacheEntry, H2Hit, ResponseCache } from './response-cache';

export interface FreshHits {
  /** Answers the request through node:http if it is a fresh hit; false leaves it to the full path. */
  serve(req: IncomingMessage, res: ServerResponse): boolean;
  /** The fast path's question: the bytes of a fresh hit for this plain request, if we hold one. */
  readonly answerFast: FastAnswer;
  /** The same question for an HTTP/2 stream: its prebuilt headers and body (none for HEAD or 304). */
  readonly answerHit: HitAnswer;
}

/** The h2 answer (`:status` in its headers, no connection-specific fields), shared: not to be changed. */
export type HitAnswer = (method: string | undefined, target: string, headers: IncomingHttpHeaders) => H2Hit | undefined;

export interface FreshHitDeps {
  readonly cache: ResponseCache;
  readonly tally: Tally;
  readonly respond: Responder;
  /** The proxy's clock, in ms. */
  readonly now: () => number;
  /** What the fast path announces in Keep-Alive, as node:http would. */
  readonly keepAliveSeconds: number;
  /** Set when PROXY_ACCESS_LOG is on: the fast path has no ServerResponse to hang the log line on. */
  readonly accessLogger?: Logger;
}

export function createFreshHits(deps: FreshHitDeps): FreshHits {
  const { cache, tally, respond, now, keepAliveSeconds, accessLogger } = deps;

  /**
   * The stored copy that answers a plain request (isPlainRequest) for
   * `target` without asking anyone, counted as a hit; undefined sends the
   * request down the full path.
   */
  function freshEntry(target: string, headers: IncomingHttpHeaders, nowMs: number): CacheEntry | undefined {
    if (!isNormalTarget(target)) return undefined;
    const entry = cache.get(target, headers);
    if (entry === undefined || !isFresh(entry, nowMs)) return undefined;
    tally.hits++;
    return entry;
  }

  function serve(req: IncomingMessage, res: ServerResponse): boolean {
    const method = req.method;
    if ((method !== 'GET' && method !== 'HEAD') || !isPlainRequest(req.headers)) return false;
    const nowMs = now();
    const entry = freshEntry(req.url ?? '/', req.headers, nowMs);
    if (entry === undefined) return false;
    if (isNotModified(entry, req.headers, nowMs)) {
      respond.writeHead(res, 304, hotNotModifiedHeaders(entry, nowMs));
      res.end();
      return true;
    }
    respond.writeHead(res, entry.status, hotHeaders(entry, nowMs));
    res.end(method === 'HEAD' ? undefined : entry.body);
    return true;
  }

  // parsePlainHead() already held the request to isPlainRequest(), so it is not asked twice.
  const answerFast: FastAnswer = (method, target, headers) => {
    const started = accessLogger ? process.hrtime.bigint() : 0n;
    const nowMs = now();
    const entry = freshEntry(target, headers, nowMs);
    if (entry === undefined) return undefined;
    const notModified = isNotModified(entry, headers, nowMs);
    const status = notModified ? 304 : entry.status;
    countStatus(tally, status);
    const head = notModified
      ? hotNotModifiedHead(entry, nowMs, keepAliveSeconds)
      : hotHead(entry, nowMs, keepAliveSeconds);
    if (accessLogger) {
      accessLogger.info({
        method,
        url: target,
        status,
        cacheStatus: entry.hot?.headers['cache-status'],
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        bytes: notModified ? undefined : entry.body.length || undefined,
      });
    }
    return notModified || method === 'HEAD' ? [head] : [head, entry.body];
  };

  const answerHit: HitAnswer = (method, target, headers) => {
    if ((method !== 'GET' && method !== 'HEAD') || !isPlainRequest(headers)) return undefined;
    const started = accessLogger ? process.hrtime.bigint() : 0n;
    const nowMs = now();
    const entry = freshEntry(target, headers, nowMs);
    if (entry === undefined) return undefined;
    const notModified = isNotModified(entry, headers, nowMs);
    const status = notModified ? 304 : entry.status;
    countStatus(tally, status);
    const hit = h2Hit(entry, nowMs, notModified ? 'not-modified' : method === 'HEAD' ? 'head' : 'get');
    if (accessLogger) {
      accessLogger.info({
        method,
        url: target,
        status,
        cacheStatus: hit.headers['cache-status'],
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        bytes: hit.body?.length || undefined,
      });
    }
    return hit;
  };

  return { serve, answerFast, answerHit };
}
