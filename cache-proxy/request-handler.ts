// One reader request, start to finish: normalize, look up, serve fresh,
// serve stale while refreshing, fill (coalesced) from an upstream, fall back
// to a stale copy when every upstream fails, or explain with a 502/504.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type CachePolicy from 'http-cache-semantics';
import { HyperstaticError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { Ops } from '../common/ops';
import { KEY_HOST } from './cache-policy';
import { formatCacheStatus, type CacheStatus, type ForwardReason } from './cache-status';
import {
  contentRange,
  notModified,
  notModifiedHeaders,
  selectRange,
  unsatisfiedRange,
} from '../common/http-conditional';
import { sendErrorPage } from './error-page';
import { handlePurge } from './purge';
import { CoalesceTimeoutError } from './errors';
import type { FillOutcome, FillRequest, Filler } from './cache-fill';
import { parseCacheControl } from './freshness';
import type { FastAnswer } from './fast-server';
import {
  hotHead,
  hotHeaders,
  hotNotModifiedHead,
  hotNotModifiedHeaders,
  isFresh,
  isNotModified,
  isPlainRequest,
} from './hit-path';
import { countStatus, type ProxyMetrics } from './metrics';
import {
  isNormalTarget,
  normalizeAcceptEncoding,
  normalizeTarget,
  NormalizeError,
  type NormalizedTarget,
} from './normalize';
import type { CacheEntry, ResponseCache } from './response-cache';
import { stripHopByHop, type UpstreamPool } from './upstream-pool';

export interface HandlerOptions {
  /** Seconds past freshness a copy is served while a background refresh runs. */
  readonly staleWhileRevalidate: number;
  /** Seconds past freshness a copy is served when every upstream fails. */
  readonly staleIfError: number;
  /** How long a request waits for a fetch it joined before giving up. */
  readonly coalesceWaitMs: number;
  readonly accessLog: boolean;
  /** Bearer token of PURGE; empty disables it. */
  readonly purgeToken: string;
  /** What the fast path announces in Keep-Alive, as node:http would. */
  readonly keepAliveSeconds: number;
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
  readonly purge: (path: string) => void;
  /** In cluster mode: every worker's metrics, summed by the primary, so one scrape sees the whole proxy. */
  readonly clusterMetrics?: () => Promise<string>;
}

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** Client conditionals and ranges are answered by us from the stored copy, never forwarded on a fill. */
const CLIENT_ONLY = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

export interface RequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The connection-level fast path's question: the bytes of a fresh hit for this plain request, if we hold one. */
  readonly answerFast: FastAnswer;
}

export function createRequestHandler(deps: HandlerDeps): RequestHandler {
  const { cache, filler, pool, metrics, ops, logger, options, now } = deps;
  const { tally } = metrics;
  const accessLogger = logger.child({ log: 'access' });
  // Headers given to writeHead() are not readable back through getHeader(); the access log keeps its own copy.
  const written = new WeakMap<ServerResponse, OutgoingHttpHeaders>();

  function writeHead(res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
    if (options.accessLog) written.set(res, headers);
    countStatus(tally, status);
    res.writeHead(status, headers);
  }

  function errorPage(res: ServerResponse, status: number, message: string, cacheStatus: string, head = false): void {
    countStatus(tally, status);
    sendErrorPage(res, status, message, cacheStatus, head);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (options.accessLog) {
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
    }
    const method = req.method;
    const head = method === 'HEAD';
    const raw = req.url ?? '/';
    if ((method === 'GET' || head) && isNormalTarget(raw) && isPlainRequest(req.headers)) {
      const entry = cache.get(raw, req.headers);
      const nowMs = now();
      if (entry !== undefined && isFresh(entry, nowMs)) {
        tally.hits++;
        if (isNotModified(entry, req.headers, nowMs)) {
          writeHead(res, 304, hotNotModifiedHeaders(entry, nowMs));
          res.end();
          return;
        }
        writeHead(res, entry.status, hotHeaders(entry, nowMs));
        res.end(head ? undefined : entry.body);
        return;
      }
    }

    let target: NormalizedTarget;
    try {
      target = normalizeTarget(raw);
    } catch (error) {
      const status = error instanceof NormalizeError ? error.status : 400;
      errorPage(
        res,
        status,
        error instanceof Error ? error.message : 'Bad request.',
        formatCacheStatus({ fwd: 'bypass', detail: 'rejected' }),
        head,
      );
      return;
    }

    if ((req.method === 'GET' || head) && OPS_PATHS.has(target.path)) {
      res.setHeader('cache-status', formatCacheStatus({ fwd: 'bypass', detail: 'ops' }));
      if (target.path === '/metrics' && deps.clusterMetrics) {
        deps.clusterMetrics().then(
          (text) => {
            res.writeHead(200, {
              'content-type': 'text/plain; version=0.0.4; charset=utf-8',
              'cache-control': 'no-store',
            });
            res.end(head ? undefined : text);
          },
          (error: unknown) => fail(res, error, head),
        );
        return;
      }
      if (ops.handle(req, res)) return;
    }

    switch (req.method) {
      case 'GET':
      case 'HEAD':
        if (req.headers.range && !cache.lookup(target.url, policyHeaders(req)).entry) {
          // A range of something we do not hold (typically large media): stream it through, Range and all.
          passThrough(req, res, target, { fwd: 'miss', detail: 'range' }).catch((error: unknown) =>
            fail(res, error, head),
          );
          return;
        }
        serveCacheable(req, res, target).catch((error: unknown) => fail(res, error, head));
        return;
      case 'PURGE':
        countStatus(tally, handlePurge(req, res, target.path, options.purgeToken, deps.purge));
        return;
      case 'CONNECT':
      case 'TRACE':
        // TRACE would echo readers' cookies back through a shared cache.
        errorPage(
          res,
          405,
          `${req.method} is not supported here.`,
          formatCacheStatus({ fwd: 'method', detail: 'refused' }),
        );
        return;
      default:
        passThrough(req, res, target, { fwd: 'method' }).catch((error: unknown) => fail(res, error, head));
    }
  }

  async function serveCacheable(req: IncomingMessage, res: ServerResponse, target: NormalizedTarget): Promise<void> {
    const headers = policyHeaders(req);
    const policyRequest = { url: target.url, method: 'GET', headers };
    const lookup = cache.lookup(target.url, headers);
    const entry = lookup.entry;

    if (entry) {
      const evaluation = entry.policy.evaluateRequest(policyRequest);
      if (evaluation.response && !evaluation.revalidation) {
        tally.hits++;
        sendEntry(req, res, entry, { hit: true, ttl: remaining(entry) });
        return;
      }
      const staleFor = -remaining(entry);
      if (
        staleFor > 0 &&
        staleFor <= options.staleWhileRevalidate &&
        mayServeStale(entry) &&
        !requestForbidsStale(headers)
      ) {
        // RFC 5861 §3 stale-while-revalidate, applied to every stored response.
        metrics.stale.inc({ reason: 'revalidating' });
        const { promise, leader } = filler.fill(
          { url: target.url, path: target.path, key: lookup.key, headers, existing: entry },
          true,
        );
        if (leader) void promise.then(discardStream);
        sendEntry(req, res, entry, { hit: true, ttl: -staleFor, detail: 'stale-while-revalidate' });
        return;
      }
    }

    if (parseCacheControl(headers['cache-control']).has('only-if-cached')) {
      // RFC 9111 §5.2.1.7: nothing stored may answer, and the reader forbids asking an upstream.
      errorPage(
        res,
        504,
        'No saved copy of this page can answer a request marked only-if-cached.',
        formatCacheStatus({ fwd: 'request', detail: 'only-if-cached' }),
        req.method === 'HEAD',
      );
      return;
    }
    metrics.misses.inc();
    const fwd: ForwardReason = !entry
      ? lookup.urlKnown
        ? 'vary-miss'
        : 'uri-miss'
      : requestForbidsStale(headers)
        ? 'request'
        : 'stale';
    const fill: FillRequest = { url: target.url, path: target.path, key: lookup.key, headers, existing: entry };
    const { outcome, collapsed } = await fetchShared(fill);

    switch (outcome.kind) {
      case 'body': {
        const { entry: fresh, stored, fwdStatus } = outcome;
        sendEntry(req, res, fresh, { fwd, fwdStatus, stored, collapsed, ttl: stored ? remaining(fresh) : undefined });
        return;
      }
      case 'stream':
        sendStream(req, res, outcome, { fwd, fwdStatus: outcome.status, detail: 'too-large' });
        return;
      case 'failed':
        if (entry && mayServeStale(entry) && -remaining(entry) <= options.staleIfError) {
          // RFC 5861 §4 stale-if-error: a seized origin must not darken the site (DESIGN §3).
          metrics.stale.inc({ reason: 'error' });
          sendEntry(req, res, entry, { fwd: 'stale', ttl: remaining(entry), collapsed, detail: 'stale-if-error' });
          return;
        }
        fail(res, outcome.error, req.method === 'HEAD', { fwd, collapsed });
    }
  }

  /** Joins the fetch in flight for this key, or leads one; a joiner the result does not fit fetches on its own. */
  async function fetchShared(fill: FillRequest): Promise<{ outcome: FillOutcome; collapsed: boolean }> {
    const { promise, leader } = filler.fill(fill, true);
    if (leader) return { outcome: await promise, collapsed: false };
    metrics.coalesced.inc();
    const outcome = await withTimeout(promise, options.coalesceWaitMs);
    if (outcome.kind === 'failed' && outcome.error instanceof CoalesceTimeoutError) metrics.coalesceTimeouts.inc();
    if (
      outcome.kind === 'failed' ||
      (outcome.kind === 'body' && outcome.stored && outcome.variant === variantOf(outcome.entry, fill))
    ) {
      return { outcome, collapsed: true };
    }
    // Uncacheable, a different Vary variant, or a stream only one reader can consume.
    return { outcome: await filler.fill(fill, false).promise, collapsed: true };
  }

  function sendEntry(req: IncomingMessage, res: ServerResponse, entry: CacheEntry, status: CacheStatus): void {
    const headers = entry.policy.responseHeaders() as Record<string, string | string[]>;
    headers['cache-status'] = formatCacheStatus(status);
    const ok = entry.status >= 200 && entry.status < 300;
    if (ok && notModified(req.headers, headers)) {
      writeHead(res, 304, { ...notModifiedHeaders(headers), 'cache-status': headers['cache-status'] });
      res.end();
      return;
    }
    const { body } = entry;
    const range = entry.status === 200 ? selectRange(req.headers, headers, body.length) : { kind: 'full' as const };
    headers['accept-ranges'] = 'bytes';
    if (range.kind === 'unsatisfiable') {
      writeHead(res, 416, {
        'content-range': unsatisfiedRange(body.length),
        'content-length': '0',
        'cache-status': headers['cache-status'],
      });
      res.end();
      return;
    }
    if (range.kind === 'partial') {
      headers['content-range'] = contentRange(range, body.length);
      headers['content-length'] = String(range.end - range.start + 1);
      writeHead(res, 206, headers);
      res.end(req.method === 'HEAD' ? undefined : body.subarray(range.start, range.end + 1));
      return;
    }
    headers['content-length'] = String(body.length);
    writeHead(res, entry.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function sendStream(
    req: IncomingMessage,
    res: ServerResponse,
    outcome: Extract<FillOutcome, { kind: 'stream' }>,
    status: CacheStatus,
  ): void {
    writeHead(res, outcome.status, { ...stripHopByHop(outcome.headers), 'cache-status': formatCacheStatus(status) });
    if (req.method === 'HEAD') {
      outcome.res.destroy();
      res.end();
      return;
    }
    for (const chunk of outcome.prefix) res.write(chunk);
    pipeline(outcome.res, res, () => undefined);
  }

  async function passThrough(
    req: IncomingMessage,
    res: ServerResponse,
    target: NormalizedTarget,
    status: CacheStatus,
  ): Promise<void> {
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    const headers = stripHopByHop(req.headers);
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor
      ? `${String(forwardedFor)}, ${req.socket.remoteAddress ?? ''}`
      : (req.socket.remoteAddress ?? '');
    let upstreamRes: IncomingMessage;
    try {
      // A body is streamed, never buffered; a request that has one is not replayed on another upstream.
      ({ res: upstreamRes } = await pool.request({
        method: req.method ?? 'GET',
        url: target.url,
        headers,
        body: safe ? undefined : req,
      }));
    } catch (error) {
      fail(res, error, req.method === 'HEAD', status);
      return;
    }
    const code = upstreamRes.statusCode ?? 502;
    if (!safe && code < 400) {
      // RFC 9111 §4.4: a successful unsafe request invalidates the target URI and its Location.
      invalidate(target.path);
      for (const location of [upstreamRes.headers.location, upstreamRes.headers['content-location']]) {
        const path = sameOriginPath(location, req.headers.host);
        if (path !== undefined) invalidate(path);
      }
    }
    writeHead(res, code, {
      ...stripHopByHop(upstreamRes.headers),
      'cache-status': formatCacheStatus({ ...status, fwdStatus: code }),
    });
    pipeline(upstreamRes, res, () => undefined);
  }

  function invalidate(path: string): void {
    cache.evictPath(path);
    filler.invalidate(path);
  }

  function fail(res: ServerResponse, error: unknown, head: boolean, status: CacheStatus = {}): void {
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
  }

  const answerFast: FastAnswer = (method, target, headers) => {
    const started = options.accessLog ? process.hrtime.bigint() : 0n;
    if (!isNormalTarget(target)) return undefined;
    const entry = cache.get(target, headers);
    if (entry === undefined) return undefined;
    const nowMs = now();
    if (!isFresh(entry, nowMs)) return undefined;
    tally.hits++;
    if (isNotModified(entry, headers, nowMs)) {
      countStatus(tally, 304);
      const notModified = hotNotModifiedHead(entry, nowMs, options.keepAliveSeconds);
      if (options.accessLog) {
        accessLogger.info({
          method,
          url: target,
          status: 304,
          cacheStatus: entry.hot?.headers['cache-status'],
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        });
      }
      return [notModified];
    }
    countStatus(tally, entry.status);
    const head = hotHead(entry, nowMs, options.keepAliveSeconds);
    if (options.accessLog) {
      accessLogger.info({
        method,
        url: target,
        status: entry.status,
        cacheStatus: entry.hot?.headers['cache-status'],
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        bytes: entry.body.length || undefined,
      });
    }
    return method === 'HEAD' ? [head] : [head, entry.body];
  };

  return Object.assign(handle, { answerFast });
}

/** The request as http-cache-semantics sees it: our own Host, no hop-by-hop fields, no client conditionals. */
function policyHeaders(req: IncomingMessage): CachePolicy.Headers {
  const headers: CachePolicy.Headers = stripHopByHop(req.headers);
  for (const name of CLIENT_ONLY) delete headers[name];
  // One variant per set of accepted codings, not per spelling of the header.
  const acceptEncoding = normalizeAcceptEncoding(headers['accept-encoding']);
  if (acceptEncoding === undefined) delete headers['accept-encoding'];
  else headers['accept-encoding'] = acceptEncoding;
  headers.host = KEY_HOST;
  return headers;
}

/**
 * The path of a Location or Content-Location value when it names this site:
 * a relative reference, or an absolute one on the Host the reader used
 * (RFC 9111 §4.4: never invalidate for another host).
 */
function sameOriginPath(location: string | undefined, host: string | undefined): string | undefined {
  if (!location) return undefined;
  let target = location;
  if (!location.startsWith('/') || location.startsWith('//')) {
    try {
      const url = new URL(location, `http://${host ?? 'invalid.invalid'}/`);
      if (url.host !== host) return undefined;
      target = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  try {
    return normalizeTarget(target).path;
  } catch {
    return undefined;
  }
}

function variantOf(entry: CacheEntry, fill: FillRequest): string {
  const parts = entry.vary.map((name) => `${name}:${String(fill.headers[name] ?? '')}`);
  return parts.length === 0 ? fill.url : `${fill.url}\n${parts.join('\n')}`;
}

/** Seconds of freshness left (negative once stale). */
function remaining(entry: CacheEntry): number {
  return entry.policy.maxAge() - entry.policy.age();
}

/** RFC 9111 §4.2.4: no stale copy when the origin forbids it explicitly. */
function mayServeStale(entry: CacheEntry): boolean {
  const cc = parseCacheControl(entry.policy.responseHeaders()['cache-control']);
  return !cc.has('must-revalidate') && !cc.has('proxy-revalidate') && !cc.has('no-cache') && !cc.has('s-maxage');
}

/** A reader who asks for a validated copy (reload) waits for the upstream. */
function requestForbidsStale(headers: CachePolicy.Headers): boolean {
  const cc = parseCacheControl(headers['cache-control']);
  return (
    cc.has('no-cache') || cc.has('max-age') || cc.has('min-fresh') || /no-cache/i.test(String(headers.pragma ?? ''))
  );
}

function discardStream(outcome: FillOutcome): void {
  if (outcome.kind === 'stream') outcome.res.destroy();
}

function withTimeout(promise: Promise<FillOutcome>, ms: number): Promise<FillOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<FillOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'failed', error: new CoalesceTimeoutError(ms) }), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
