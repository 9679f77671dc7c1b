// Filling the cache from an upstream: one fetch per variant key at a time
// (others join it), conditional revalidation of a stored copy, and bodies
// too large to hold handed back as a stream instead.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type CachePolicy from 'http-cache-semantics';
import { HyperstaticError } from '../common/errors';
import type { PolicyFactory } from './cache-policy';
import { UpstreamConnectionError } from './errors';
import { parseVary, variantKey, type CacheEntry, type ResponseCache } from './response-cache';
import type { UpstreamPool } from './upstream-pool';

export interface FillRequest {
  readonly url: string;
  readonly path: string;
  /** Coalescing key: the variant key the request maps to. */
  readonly key: string;
  /** Request headers as the policy sees them (no hop-by-hop, no client conditionals or Range, our Host). */
  readonly headers: CachePolicy.Headers;
  /** A stored copy to revalidate with its validators, if any. */
  readonly existing?: CacheEntry;
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

export function createFiller(deps: {
  cache: ResponseCache;
  pool: UpstreamPool;
  policyFor: PolicyFactory;
  maxEntryBytes: number;
}): Filler {
  const flights = new Map<string, { flight: Flight; promise: Promise<FillOutcome> }>();
  const { cache, pool, policyFor, maxEntryBytes } = deps;

  async function fetchOnce(request: FillRequest, flight: Flight): Promise<FillOutcome> {
    const policyRequest = { url: request.url, method: 'GET', headers: request.headers };
    // RFC 9111 §4.3.1: revalidate with the stored validators.
    const headers = request.existing ? request.existing.policy.revalidationHeaders(policyRequest) : request.headers;
    let res: IncomingMessage;
    try {
      ({ res } = await pool.request({ method: 'GET', url: request.url, headers }));
    } catch (error) {
      return { kind: 'failed', error: toHyperstaticError(error) };
    }
    const status = res.statusCode ?? 502;

    if (status === 304 && request.existing) {
      res.resume();
      // RFC 9111 §4.3.4: a 304 refreshes the stored headers; the body stays.
      const { policy, modified } = request.existing.policy.revalidatedPolicy(policyRequest, {
        status,
        headers: res.headers,
      });
      if (!modified) {
        const entry: CacheEntry = { ...request.existing, policy: policy as CacheEntry['policy'] };
        const stored = storeIfAllowed(entry, request, flight);
        return {
          kind: 'body',
          entry,
          stored,
          fwdStatus: 304,
          variant: variantKey(request.url, entry.vary, request.headers),
        };
      }
    }

    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxEntryBytes)
      return { kind: 'stream', status, headers: res.headers, prefix: [], res };

    return new Promise<FillOutcome>((resolve) => {
      const chunks: Buffer[] = [];
      let total = 0;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        total += chunk.length;
        if (total > maxEntryBytes) {
          // Too large to hold: hand what we have and the rest of the stream to the one reader who asked.
          res.pause();
          res.off('data', onData);
          res.off('end', onEnd);
          res.off('error', onError);
          resolve({ kind: 'stream', status, headers: res.headers, prefix: chunks, res });
        }
      };
      const onEnd = (): void => {
        const body = Buffer.concat(chunks, total);
        const policy = policyFor(policyRequest, { status, headers: res.headers });
        const entry: CacheEntry = {
          url: request.url,
          path: request.path,
          status,
          body,
          policy,
          vary: parseVary(res.headers.vary),
        };
        const stored = storeIfAllowed(entry, request, flight);
        resolve({
          kind: 'body',
          entry,
          stored,
          fwdStatus: status,
          variant: variantKey(request.url, entry.vary, request.headers),
        });
      };
      const onError = (error: Error): void =>
        resolve({ kind: 'failed', error: new UpstreamConnectionError('upstream', error) });
      res.on('data', onData);
      res.once('end', onEnd);
      res.once('error', onError);
    });
  }

  function storeIfAllowed(entry: CacheEntry, request: FillRequest, flight: Flight): boolean {
    const { policy, status } = entry;
    const headers = policy.responseHeaders();
    const storable =
      !flight.dirty &&
      policy.storable() &&
      // We never asked for a range, so a 206 is not ours to keep.
      status !== 206 &&
      // Never replay one reader's cookie to another (Varnish does the same).
      headers['set-cookie'] === undefined &&
      !entry.vary.includes('*') &&
      entry.body.length <= maxEntryBytes;
    if (!storable) {
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

function toHyperstaticError(error: unknown): HyperstaticError {
  if (error instanceof HyperstaticError) return error;
  return new UpstreamConnectionError('upstream', error);
}
