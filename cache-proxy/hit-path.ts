// The hit path: a plain GET or HEAD of an already-normal URL whose stored
// copy is fresh is answered from headers built once a second per entry, with
// no http-cache-semantics work and no per-request allocation of our own.
// Anything else (conditionals, ranges, request directives, odd targets,
// stale copies) takes the full path in request-handler.ts.
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { formatCacheStatus } from './cache-status';
import type { CacheEntry } from './response-cache';

/**
 * Whether the request carries nothing that changes which stored response
 * may answer it or how (RFC 9111 §4: request directives, Pragma; RFC 9110
 * §13, §14: conditionals and ranges). For such a request and a stored
 * variant of its URL, "fresh" is the whole of http-cache-semantics'
 * evaluateRequest() decision: the key already fixes URL, Host and Vary.
 */
export function isPlainRequest(headers: IncomingHttpHeaders): boolean {
  return (
    headers['cache-control'] === undefined &&
    headers.pragma === undefined &&
    headers.range === undefined &&
    headers['if-none-match'] === undefined &&
    headers['if-modified-since'] === undefined &&
    headers['if-match'] === undefined &&
    headers['if-unmodified-since'] === undefined
  );
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

/**
 * The whole response head of a fresh hit as bytes, for the connection-level
 * fast path (fast-server.ts): status line, the hot headers and the
 * keep-alive fields node:http would add. Rebuilt with the hot headers.
 */
export function hotHead(entry: CacheEntry, nowMs: number, keepAliveSeconds: number): Buffer {
  const headers = hotHeaders(entry, nowMs);
  const hot = entry.hot!;
  if (hot.head !== undefined) return hot.head;
  let text = `HTTP/1.1 ${entry.status} ${STATUS_CODES[entry.status] ?? 'Unknown'}\r\n`;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    // Upstream values arrived through node's parser (latin1, no CR or LF) and go back out byte for byte.
    for (const item of Array.isArray(value) ? value : [value]) text += `${name}: ${String(item)}\r\n`;
  }
  text += `connection: keep-alive\r\nkeep-alive: timeout=${keepAliveSeconds}\r\n\r\n`;
  hot.head = Buffer.from(text, 'latin1');
  return hot.head;
}
