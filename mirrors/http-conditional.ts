// Pure helpers for conditional and partial GETs (RFC 9110 §13, §14): headers
// in, decision out.
import type { IncomingHttpHeaders } from 'node:http';

export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

/** RFC 9110 §13.2.2: If-None-Match (weak comparison) wins; If-Modified-Since only counts without it. */
export function isNotModified(headers: IncomingHttpHeaders, etag: string, lastModifiedMs: number): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
    return inm.split(',').some((tag) => opaque(tag) === opaque(etag));
  }
  const ims = headers['if-modified-since'];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    // HTTP dates have one-second resolution.
    if (!Number.isNaN(since)) return Math.floor(lastModifiedMs / 1000) * 1000 <= since;
  }
  return false;
}

export type RangeDecision =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * RFC 9110 §14.2: one `bytes=` range is honoured; several ranges, other
 * units or an If-Range that does not match the current representation fall
 * back to the full body, which the RFC allows.
 */
export function decideRange(
  headers: IncomingHttpHeaders,
  size: number,
  etag: string,
  lastModified: string,
): RangeDecision {
  const header = headers.range;
  if (header === undefined) return { kind: 'full' };
  const ifRange = headers['if-range'];
  if (ifRange !== undefined) {
    const validator = String(ifRange).trim();
    if (validator !== etag && validator !== lastModified) return { kind: 'full' };
  }
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'full' };
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  // A last-pos before first-pos makes the header invalid, so it is ignored.
  if (match[2] !== '' && Number(match[2]) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return { kind: 'partial', start, end };
}
