// The full path of a cacheable GET or HEAD: whatever the fresh-hit path
// (fresh-hit.ts) did not answer. Serve a copy http-cache-semantics accepts,
// serve stale while refreshing, fill (coalesced) from an upstream, fall back
// to a stale copy when every upstream fails, or explain with a 502/504; the
// reader's own conditionals and ranges are answered here from the copy.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type CachePolicy from 'http-cache-semantics';
import {
  contentRange,
  notModified,
  notModifiedHeaders,
  selectRange,
  unsatisfiedRange,
} from '../common/http-conditional';
import { formatDirectives, OWN_TARGETED_FIELD, parseCacheControl } from './cache-directives';
import { KEY_HOST } from './cache-policy';
import { formatCacheStatus, type CacheStatus, type ForwardReason } from './cache-status';
import { SERVER_ERRORS, type FillOutcome, type FillRequest, type Filler } from './cache-fill';
import { CoalesceTimeoutError } from './errors';
import { validatorsOf } from './hit-path';
import { graceFor, type Grace, type GraceLimits } from './grace';
import { relayInformation } from './interim';
import type { ProxyMetrics } from './metrics';
import { normalizeAcceptEncoding, type NormalizedTarget } from './normalize';
import type { Responder } from './responder';
import type { CacheEntry, ResponseCache } from './response-cache';
import { stripHopByHop } from './upstream-pool';

export interface CacheableDeps {
  readonly cache: ResponseCache;
  readonly filler: Filler;
  readonly metrics: ProxyMetrics;
  readonly respond: Responder;
  readonly options: {
    /** When a stale copy may be served (grace.ts). */
    readonly grace: GraceLimits;
    /** How long a request waits for a fetch it joined before giving up. */
    readonly coalesceWaitMs: number;
  };
}

/** Client conditionals and ranges are answered by us from the stored copy, never forwarded on a fill. */
const CLIENT_ONLY = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

export type ServeCacheable = (req: IncomingMessage, res: ServerResponse, target: NormalizedTarget) => Promise<void>;

export function createCacheableServer(deps: CacheableDeps): ServeCacheable {
  const { cache, filler, metrics, respond, options } = deps;

  async function serveCacheable(req: IncomingMessage, res: ServerResponse, target: NormalizedTarget): Promise<void> {
    const headers = policyHeaders(req);
    const lookup = cache.lookup(target.url, headers);
    const entry = lookup.entry;
    const fill: FillRequest = { url: target.url, path: target.path, key: lookup.key, headers, existing: entry };
    if (entry && answerFromStore(deps, req, res, fill, entry)) return;
    // RFC 9110 §15.2: interim answers (103 Early Hints) reach the reader whose request went upstream.
    const leading: FillRequest = { ...fill, onInformation: (info) => relayInformation(req, res, info) };

    if (parseCacheControl(headers['cache-control']).has('only-if-cached')) {
      // RFC 9111 §5.2.1.7: nothing stored may answer, and the reader forbids asking an upstream.
      respond.errorPage(
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
    const { outcome, collapsed } = await fetchShared(leading);
    const staleIfError = () => {
      // RFC 5861 §4 stale-if-error, where the origin or an operator's grace rule allows it (grace.ts).
      if (!entry || -remaining(entry) > graceOf(entry).ifError) return false;
      metrics.stale.inc({ reason: 'error' });
      sendEntry(respond, req, res, entry, { fwd: 'stale', ttl: remaining(entry), collapsed, detail: 'stale-if-error' });
      return true;
    };

    switch (outcome.kind) {
      case 'body': {
        const { entry: fresh, stored, fwdStatus } = outcome;
        // The origin's own error answer is passed through, unless a stale copy may stand in for it.
        if (SERVER_ERRORS.has(fresh.status) && staleIfError()) return;
        sendEntry(respond, req, res, fresh, {
          fwd,
          fwdStatus,
          stored,
          collapsed,
          ttl: stored ? remaining(fresh) : undefined,
        });
        return;
      }
      case 'stream':
        sendStream(respond, req, res, outcome, { fwd, fwdStatus: outcome.status, detail: 'too-large' });
        return;
      case 'failed':
        if (staleIfError()) return;
        respond.fail(res, outcome.error, req.method === 'HEAD', { fwd, collapsed });
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

  function graceOf(entry: CacheEntry): Grace {
    return graceFor(entry.policy.directives, entry.path, entry.upstream, options.grace);
  }

  return serveCacheable;
}

/** A stored copy that may answer now: fresh, or stale while a background refresh runs (RFC 5861 §3). */
function answerFromStore(
  deps: CacheableDeps,
  req: IncomingMessage,
  res: ServerResponse,
  fill: FillRequest,
  entry: CacheEntry,
): boolean {
  const { filler, metrics, respond, options } = deps;
  const evaluation = entry.policy.evaluateRequest({ url: fill.url, method: 'GET', headers: fill.headers });
  if (evaluation.response && !evaluation.revalidation) {
    metrics.tally.hits++;
    sendEntry(respond, req, res, entry, { hit: true, ttl: remaining(entry) });
    return true;
  }
  const staleFor = -remaining(entry);
  const mayServeWhileRevalidating =
    staleFor > 0 &&
    staleFor <= graceFor(entry.policy.directives, entry.path, entry.upstream, options.grace).whileRevalidate &&
    !requestForbidsStale(fill.headers);
  if (!mayServeWhileRevalidating) return false;
  // RFC 5861 §3 stale-while-revalidate, where the origin or an operator's grace rule allows it (grace.ts).
  metrics.stale.inc({ reason: 'revalidating' });
  const { promise, leader } = filler.fill(fill, true);
  if (leader) void promise.then(discardStream);
  sendEntry(respond, req, res, entry, { hit: true, ttl: -staleFor, detail: 'stale-while-revalidate' });
  return true;
}

/** A stored or just-fetched copy, as a 304, a 206, a 416 or the whole body (RFC 9110 §13, §14). */
function sendEntry(
  respond: Responder,
  req: IncomingMessage,
  res: ServerResponse,
  entry: CacheEntry,
  status: CacheStatus,
): void {
  const headers = entry.policy.responseHeaders() as Record<string, string | string[]>;
  headers['cache-status'] = formatCacheStatus(status);
  const ok = entry.status >= 200 && entry.status < 300;
  if (ok && notModified(req.headers, validatorsOf(entry, headers))) {
    respond.writeHead(res, 304, { ...notModifiedHeaders(headers), 'cache-status': headers['cache-status'] });
    res.end();
    return;
  }
  const { body } = entry;
  const range = entry.status === 200 ? selectRange(req.headers, headers, body.length) : { kind: 'full' as const };
  headers['accept-ranges'] = 'bytes';
  if (range.kind === 'unsatisfiable') {
    respond.writeHead(res, 416, {
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
    respond.writeHead(res, 206, headers);
    res.end(req.method === 'HEAD' ? undefined : body.subarray(range.start, range.end + 1));
    return;
  }
  headers['content-length'] = String(body.length);
  respond.writeHead(res, entry.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendStream(
  respond: Responder,
  req: IncomingMessage,
  res: ServerResponse,
  outcome: Extract<FillOutcome, { kind: 'stream' }>,
  status: CacheStatus,
): void {
  const headers = stripHopByHop(outcome.headers);
  delete headers[OWN_TARGETED_FIELD];
  respond.writeHead(res, outcome.status, { ...headers, 'cache-status': formatCacheStatus(status) });
  if (req.method === 'HEAD') {
    outcome.res.destroy();
    res.end();
    return;
  }
  for (const chunk of outcome.prefix) res.write(chunk);
  pipeline(outcome.res, res, () => undefined);
}

/** The request as http-cache-semantics sees it: our own Host, no hop-by-hop fields, no client conditionals. */
export function policyHeaders(req: IncomingMessage): CachePolicy.Headers {
  const headers: CachePolicy.Headers = stripHopByHop(req.headers);
  for (const name of CLIENT_ONLY) delete headers[name];
  // One variant per coding served (the best the reader accepts), not per spelling of the header.
  const acceptEncoding = normalizeAcceptEncoding(headers['accept-encoding']);
  if (acceptEncoding === undefined) delete headers['accept-encoding'];
  else headers['accept-encoding'] = acceptEncoding;
  headers.host = KEY_HOST;
  // RFC 9111 §5.2: directive names are case-insensitive; http-cache-semantics matches them as given.
  const cc = headers['cache-control'];
  if (cc !== undefined) headers['cache-control'] = formatDirectives(parseCacheControl(cc));
  return headers;
}

function variantOf(entry: CacheEntry, fill: FillRequest): string {
  const parts = entry.vary.map((name) => `${name}:${String(fill.headers[name] ?? '')}`);
  return parts.length === 0 ? fill.url : `${fill.url}\n${parts.join('\n')}`;
}

/** Seconds of freshness left (negative once stale). */
function remaining(entry: CacheEntry): number {
  return entry.policy.maxAge() - entry.policy.age();
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
