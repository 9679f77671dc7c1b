// The pure pieces of the fresh-hit path (fresh-hit.ts): which requests
// qualify, and the headers of a fresh hit, built once a second per entry so
// no request allocates its own. A reader revalidating its own copy
// (If-None-Match, If-Modified-Since) qualifies too: it gets a prebuilt 304
// head. Anything else (If-Match, ranges, request directives, odd targets,
// stale copies) takes the full path in serve-cacheable.ts.
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { httpDate, notModified, notModifiedHeaders } from '../common/http-conditional';
import { formatCacheStatus } from './cache-status';
import type { HeaderMap } from './freshness';
import type { CacheEntry, H2Hit } from './response-cache';

/**
 * Whether the request carries nothing that changes which stored response
 * may answer it (RFC 9111 §4: request directives, Pragma) or asks for more
 * than the whole body or a 304 (RFC 9110 §13.1.1, §13.1.4: If-Match and
 * If-Unmodified-Since; §14: ranges). For such a request and a stored
 * variant of its URL, "fresh" is the whole of http-cache-semantics'
 * evaluateRequest() decision: the key already fixes URL, Host and Vary.
 * If-None-Match and If-Modified-Since stay: they only choose between the
 * stored response and a 304 (isNotModified).
 */
export function isPlainRequest(headers: IncomingHttpHeaders): boolean {
  return (
    headers['cache-control'] === undefined &&
    headers.pragma === undefined &&
    headers.range === undefined &&
    headers['if-match'] === undefined &&
    headers['if-unmodified-since'] === undefined
  );
}

/**
 * RFC 9110 §13.2.2: a fresh 2xx copy answers the reader's own If-None-Match
 * or If-Modified-Since with 304 when the reader's copy is the current one.
 */
export function isNotModified(entry: CacheEntry, request: IncomingHttpHeaders, nowMs: number): boolean {
  if (request['if-none-match'] === undefined && request['if-modified-since'] === undefined) return false;
  if (entry.status < 200 || entry.status >= 300) return false;
  // Every value in the hot headers is a string (or list of strings): they come from responseHeaders().
  return notModified(request, validatorsOf(entry, hotHeaders(entry, nowMs) as HeaderMap));
}

/**
 * The validators a reader's conditional is compared with. RFC 9111 §4.3.2:
 * without a stored Last-Modified, If-Modified-Since is compared with the
 * stored response's Date (the served Date is ours, the time of serving).
 */
export function validatorsOf(entry: CacheEntry, headers: HeaderMap): HeaderMap {
  if (headers['last-modified'] !== undefined) return headers;
  return { etag: headers.etag, 'last-modified': httpDate(entry.policy.date()) };
}

/** Whether a stored copy may answer a plain request without asking anyone. */
export function isFresh(entry: CacheEntry, nowMs: number): boolean {
  return entry.freshUntil !== undefined && nowMs < entry.freshUntil;
}

/** The headers of a fresh hit; Age, Date and the Cache-Status ttl move once a second, so they are rebuilt that often. */
export function hotHeaders(entry: CacheEntry, nowMs: number): OutgoingHttpHeaders {
  const second = Math.floor(nowMs / 1000);
  const hot = entry.hot;
  if (hot !== undefined && hot.second === second) return hot.headers;
  const headers = entry.policy.responseHeaders() as OutgoingHttpHeaders;
  headers['cache-status'] = formatCacheStatus({ hit: true, ttl: ((entry.freshUntil ?? nowMs) - nowMs) / 1000 });
  headers['accept-ranges'] = 'bytes';
  headers['content-length'] = String(entry.body.length);
  entry.hot = { second, headers };
  return headers;
}

/** The headers of a 304 to a fresh hit (RFC 9110 §15.4.5), rebuilt with the hot headers. */
export function hotNotModifiedHeaders(entry: CacheEntry, nowMs: number): OutgoingHttpHeaders {
  const headers = hotHeaders(entry, nowMs);
  const hot = entry.hot!;
  hot.notModified ??= { ...notModifiedHeaders(headers as HeaderMap), 'cache-status': headers['cache-status'] };
  return hot.notModified;
}

/**
 * The whole response head of a fresh hit as bytes, for the connection-level
 * fast path (fast-server.ts): status line, the hot headers and the
 * keep-alive fields node:http would add. Rebuilt with the hot headers.
 */
export function hotHead(entry: CacheEntry, nowMs: number, keepAliveSeconds: number): Buffer {
  const headers = hotHeaders(entry, nowMs);
  const hot = entry.hot!;
  hot.head ??= serializeHead(entry.status, headers, keepAliveSeconds);
  return hot.head;
}

/** hotHead() for the 304 answer to a reader's own conditional. */
export function hotNotModifiedHead(entry: CacheEntry, nowMs: number, keepAliveSeconds: number): Buffer {
  const headers = hotNotModifiedHeaders(entry, nowMs);
  const hot = entry.hot!;
  hot.notModifiedHead ??= serializeHead(304, headers, keepAliveSeconds);
  return hot.notModifiedHead;
}

function serializeHead(status: number, headers: OutgoingHttpHeaders, keepAliveSeconds: number): Buffer {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    // Upstream values arrived through node's parser (latin1, no CR or LF) and go back out byte for byte.
    for (const item of Array.isArray(value) ? value : [value]) text += `${name}: ${String(item)}\r\n`;
  }
  text += `connection: keep-alive\r\nkeep-alive: timeout=${keepAliveSeconds}\r\n\r\n`;
  return Buffer.from(text, 'latin1');
}

/**
 * RFC 9113 §8.2.2: connection-specific fields must not appear in HTTP/2, and
 * node throws (ERR_HTTP2_INVALID_CONNECTION_HEADERS) rather than send one.
 * http-cache-semantics strips most of them from stored responses, but not
 * Proxy-Connection, which some HTTP/1.1 origins still send: without this an
 * h2 reader of such a page would take the process down.
 */
export const CONNECTION_FIELDS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
]);

/** A copy of `headers` without the connection-specific fields, with `:status` when given. */
export function h2Headers(headers: OutgoingHttpHeaders, status?: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = status === undefined ? {} : { ':status': status };
  for (const name of Object.keys(headers)) if (!CONNECTION_FIELDS.has(name.toLowerCase())) out[name] = headers[name];
  return out;
}

/**
 * The answer to an h2 GET, HEAD or conditional fresh hit, rebuilt with the
 * hot headers: one shared object per entry and second, so a stream costs
 * no header copy of ours (node's respond() copies what it is given).
 */
export function h2Hit(entry: CacheEntry, nowMs: number, kind: 'get' | 'head' | 'not-modified'): H2Hit {
  const headers = hotHeaders(entry, nowMs);
  const hot = entry.hot!;
  if (hot.h2 === undefined) {
    const full = h2Headers(headers, entry.status);
    hot.h2 = { get: { headers: full, body: entry.body }, head: { headers: full } };
  }
  if (kind !== 'not-modified') return hot.h2[kind];
  hot.h2.notModified ??= { headers: h2Headers(hotNotModifiedHeaders(entry, nowMs), 304) };
  return hot.h2.notModified;
}
