// Filling the cache from an upstream: one fetch per variant key at a time
// (others join it), conditional revalidation of a stored copy, and bodies
// too large to hold handed back as a stream instead. A key the feed
// evicted is filled only from an upstream that has reached the eviction's
// journal position (catch-up.ts).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type CachePolicy from 'http-cache-semantics';
import { HyperstaticError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { PolicyFactory } from './cache-policy';
import type { CatchUp } from './catch-up';
import { UpstreamConnectionError, type UpstreamResponseError } from './errors';
import type { Information } from './interim';
import { parseVary, variantKey, type CacheEntry, type ResponseCache } from './response-cache';
import { readBody, type BodyLimits } from './upstream-body';
import type { Upstream, UpstreamPool } from './upstream-pool';

export interface FillRequest {
  readonly url: string;
  readonly path: string;
  /** Coalescing key: the variant key the request maps to. */
  readonly key: string;
  /** Request headers as the policy sees them (no hop-by-hop, no client conditionals or Range, our Host). */
  readonly headers: CachePolicy.Headers;
  /** A stored copy to revalidate with its validators, if any. */
  readonly existing?: CacheEntry;
  /** Interim (1xx) answers of the upstream, for the reader this fetch is for (RFC 9110 §15.2). */
  readonly onInformation?: (info: Information) => void;
}

export type FillOutcome =
  | {
      readonly kind: 'body';
      readonly entry: CacheEntry;
      readonly stored: boolean;
      readonly fwdStatus: number;
      readonly variant: string;
    }
  | {
      readonly kind: 'stream';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly prefix: Buffer[];
      readonly res: IncomingMessage;
    }
  | { readonly kind: 'failed'; readonly error: HyperstaticError };

/** RFC 5861 §4: the answers that count as errors for stale-if-error. */
export const SERVER_ERRORS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

export interface Filler {
  /** Starts (or, when coalesce is true and one is in flight, joins) a fetch for this key. */
  fill(request: FillRequest, coalesce: boolean): { promise: Promise<FillOutcome>; leader: boolean };
  /** A path was invalidated: fetches in flight for it must not store what they bring back. */
  invalidate(path: string): void;
  /** Every path was invalidated. */
  invalidateAll(): void;
  readonly inFlight: number;
}

interface Flight {
  readonly path: string;
  dirty: boolean;
}

export interface FillerDeps extends BodyLimits {
  readonly cache: ResponseCache;
  readonly pool: UpstreamPool;
  readonly policyFor: PolicyFactory;
  /** Where a fill that fails on a broken upstream answer is reported. */
  readonly logger?: Logger;
  /** The journal position each evicted path must be filled from. */
  readonly catchUp?: CatchUp;
}

export function createFiller(deps: FillerDeps): Filler {
  const flights = new Map<string, { flight: Flight; promise: Promise<FillOutcome> }>();
  const { cache, maxEntryBytes } = deps;

  async function fetchOnce(request: FillRequest, flight: Flight): Promise<FillOutcome> {
    const fetched = await fetchEntry(deps, request);
    if (fetched.kind !== 'entry') return fetched;
    const { entry, fwdStatus } = fetched;
    // An answer from behind the change that emptied this key (no upstream caught up in time) is served, never kept.
    const stored = !fetched.behind && storeIfAllowed(entry, request, flight);
    return { kind: 'body', entry, stored, fwdStatus, variant: variantKey(request.url, entry.vary, request.headers) };
  }

  function storeIfAllowed(entry: CacheEntry, request: FillRequest, flight: Flight): boolean {
    // RFC 5861 §4: a server error says nothing about the resource; the stored copy stays for
    // stale-if-error and max-stale, and the error is passed through unstored.
    if (request.existing && SERVER_ERRORS.has(entry.status)) return false;
    if (flight.dirty || !isStorable(entry, maxEntryBytes)) {
      // The upstream now forbids storing this response, so the older copy must not be served either;
      // a reader's own no-store or Authorization says nothing about the resource and evicts nothing.
      const readerOptedOut =
        request.headers.authorization !== undefined || /no-store/i.test(String(request.headers['cache-control'] ?? ''));
      if (request.existing && !readerOptedOut) cache.evictUrl(request.url);
      return false;
    }
    cache.store(entry, request.headers);
    return true;
  }

  return {
    fill(request, coalesce) {
      if (coalesce) {
        const current = flights.get(request.key);
        if (current) return { promise: current.promise, leader: false };
      }
      const flight: Flight = { path: request.path, dirty: false };
      const promise = fetchOnce(request, flight)
        .catch((error: unknown): FillOutcome => ({ kind: 'failed', error: toHyperstaticError(error) }))
        .finally(() => {
          if (flights.get(request.key)?.flight === flight) flights.delete(request.key);
        });
      if (coalesce) flights.set(request.key, { flight, promise });
      return { promise, leader: true };
    },
    invalidate(path) {
      for (const [key, { flight }] of flights) {
        if (flight.path !== path) continue;
        // Its answer may predate the change: it must not be stored, and nobody arriving from now on may join it.
        flight.dirty = true;
        flights.delete(key);
      }
    },
    invalidateAll() {
      for (const { flight } of flights.values()) flight.dirty = true;
      flights.clear();
    },
    get inFlight() {
      return flights.size;
    },
  };
}

/** One upstream answer turned into an entry (a revalidated copy, or a new one), or why it could not be. */
async function fetchEntry(
  deps: FillerDeps,
  request: FillRequest,
): Promise<
  { kind: 'entry'; entry: CacheEntry; fwdStatus: number; behind?: boolean } | Exclude<FillOutcome, { kind: 'body' }>
> {
  const { pool, policyFor } = deps;
  const policyRequest = { url: request.url, method: 'GET', headers: request.headers };
  // RFC 9111 §4.3.1: revalidate with the stored validators.
  const headers = request.existing ? request.existing.policy.revalidationHeaders(policyRequest) : request.headers;
  let res: IncomingMessage;
  let upstream: Upstream;
  let behind: boolean | undefined;
  const required = deps.catchUp?.required(request.path);
  try {
    ({ res, upstream, behind } = await pool.request({
      method: 'GET',
      url: request.url,
      headers,
      onInformation: request.onInformation,
      minPosition: required?.position,
      newestIfBehind: required !== undefined && !required.strict,
    }));
  } catch (error) {
    return { kind: 'failed', error: toHyperstaticError(error) };
  }
  const status = res.statusCode ?? 502;

  if (status === 304 && request.existing) {
    res.resume();
    // RFC 9111 §4.3.4: a 304 refreshes the stored headers; the body stays.
    const { policy, modified } = request.existing.policy.revalidatedPolicy(policyRequest, {
      status,
      headers: withStoredValidators(res.headers, request.existing),
    });
    if (!modified)
      return {
        kind: 'entry',
        entry: { ...request.existing, policy: policy as CacheEntry['policy'], upstream: upstream.name },
        fwdStatus: 304,
        behind,
      };
  }

  // The key is free again as soon as a failure returns: waiting readers get a stale copy or a 502, the next one asks anew.
  const broken = (error: UpstreamResponseError): void => {
    deps.logger?.warn(
      { upstream: upstream.name, url: request.url, status, reason: error.reason, err: error.message },
      'upstream response is broken; fill abandoned, nothing stored',
    );
    pool.reportFailure(upstream, error);
  };
  const read = await readBody(res, upstream.name, deps, broken);
  if (read.kind === 'failed') broken(read.error);
  if (read.kind !== 'complete') return read;
  const entry: CacheEntry = {
    url: request.url,
    path: request.path,
    status,
    body: read.body,
    policy: policyFor(policyRequest, { status, headers: res.headers }),
    vary: parseVary(res.headers.vary),
    upstream: upstream.name,
  };
  if (behind)
    deps.logger?.warn(
      { upstream: upstream.name, url: request.url, position: required?.position },
      'no upstream caught up with the change within PROXY_CATCH_UP_WAIT_MS; served the newest answer there is, unstored',
    );
  return { kind: 'entry', entry, fwdStatus: status, behind };
}

/**
 * A 304 to our own conditional, which named one stored response, refers to
 * that response even when it repeats no validator: RFC 9110 §15.4.5 lets an
 * origin leave Last-Modified out of a 304. http-cache-semantics would not
 * select the stored response then (RFC 9111 §4.3.4) and the copy would lose
 * its Last-Modified, so readers' If-Modified-Since got 200.
 */
function withStoredValidators(headers: IncomingHttpHeaders, existing: CacheEntry): IncomingHttpHeaders {
  if (headers.etag !== undefined || headers['last-modified'] !== undefined) return headers;
  const stored = existing.policy.responseHeaders();
  const validators: IncomingHttpHeaders = {};
  if (typeof stored.etag === 'string') validators.etag = stored.etag;
  if (typeof stored['last-modified'] === 'string') validators['last-modified'] = stored['last-modified'];
  return { ...headers, ...validators };
}

/** Whether a response may be kept and replayed to other readers. */
function isStorable(entry: CacheEntry, maxEntryBytes: number): boolean {
  const { policy, status } = entry;
  return (
    policy.storable() &&
    // We never asked for a range, so a 206 is not ours to keep (docs/cache-proxy.md, "Partial content").
    status !== 206 &&
    // Never replay one reader's cookie to another (Varnish does the same).
    policy.responseHeaders()['set-cookie'] === undefined &&
    !entry.vary.includes('*') &&
    entry.body.length <= maxEntryBytes
  );
}

function toHyperstaticError(error: unknown): HyperstaticError {
  if (error instanceof HyperstaticError) return error;
  return new UpstreamConnectionError('upstream', error);
}
