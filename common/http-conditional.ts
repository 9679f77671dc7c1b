// A reader's conditional and range requests answered from a representation
// we hold (RFC 9110 §13 and §14), for the mirror and the cache proxy alike.
// Pure: the request's headers and the representation's validators in, a
// decision out.
import { parseHttpDate } from './http-date';

/** Header fields as node:http parses them (lower-case names). */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** A strong entity tag (RFC 9110 §8.8.3) for an opaque value such as a content hash. */
export function etagOf(opaque: string): string {
  return `"${opaque}"`;
}

/** An IMF-fixdate (RFC 9110 §5.6.7); HTTP dates have one-second resolution, so the milliseconds go. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * RFC 9110 §13.1.2 / §13.1.3 / §13.2.2: whether the reader's copy is the
 * current one, so a 304 will do. `response` holds the representation's
 * `etag` and `last-modified` fields; If-Modified-Since counts only without
 * If-None-Match, and only when the representation has a modification date.
 */
export function notModified(request: HeaderMap, response: HeaderMap): boolean {
  const ifNoneMatch = single(request['if-none-match']);
  const etag = single(response.etag);
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true;
    if (etag === undefined) return false;
    // Weak comparison (§8.8.3.2) is the rule for If-None-Match. Tags are
    // quoted strings that may hold commas, so the list is read tag by tag.
    const ours = opaqueTag(etag.trim());
    return ours !== undefined && entityTags(ifNoneMatch).some((tag) => opaqueTag(tag) === ours);
  }
  // §13.1.3: an If-Modified-Since that is not a valid HTTP-date is ignored.
  const ifModifiedSince = parseHttpDate(single(request['if-modified-since']));
  const lastModified = parseHttpDate(single(response['last-modified']));
  return ifModifiedSince !== undefined && lastModified !== undefined && lastModified <= ifModifiedSince;
}

/** RFC 9110 §15.4.5: the fields a 304 carries. */
export function notModifiedHeaders(response: HeaderMap): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'age']) {
    const value = response[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export type RangeDecision =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * RFC 9110 §14.2: one `bytes=` range of a representation of `length` bytes
 * is honoured; several ranges, other units, an invalid range or an If-Range
 * that does not match the current representation get the full body, which
 * the RFC allows.
 */
export function selectRange(request: HeaderMap, response: HeaderMap, length: number): RangeDecision {
  const range = single(request.range);
  if (!range) return { kind: 'full' };
  const ifRange = single(request['if-range']);
  // §13.1.5: If-Range with a validator that no longer matches means "send it all";
  // an entity tag must match strongly (a weak one never does).
  if (ifRange !== undefined && !ifRangeMatches(ifRange.trim(), response)) return { kind: 'full' };
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'full' };
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, length - suffix);
    end = length - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? length - 1 : Math.min(Number(match[2]), length - 1);
    // A last-pos before first-pos makes the header invalid, so it is ignored (§14.1.1).
    if (end < start) return match[2] !== '' && Number(match[2]) < start ? { kind: 'full' } : { kind: 'unsatisfiable' };
  }
  if (start >= length) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/** RFC 9110 §14.4: the Content-Range of a 206. */
export function contentRange(range: { start: number; end: number }, length: number): string {
  return `bytes ${range.start}-${range.end}/${length}`;
}

/** RFC 9110 §15.5.17: the Content-Range of a 416 names the current length. */
export function unsatisfiedRange(length: number): string {
  return `bytes */${length}`;
}

const ENTITY_TAG = /(?:W\/)?"[^"]*"/g;

/** The entity tags of an If-None-Match list (RFC 9110 §8.8.3: `W/"x", "y,z"`). */
function entityTags(list: string): string[] {
  return list.match(ENTITY_TAG) ?? [];
}

/** A tag's opaque part, for weak comparison: `W/"x"` and `"x"` are both `"x"`. */
function opaqueTag(tag: string): string | undefined {
  const match = /^(?:W\/)?("[^"]*")$/.exec(tag);
  return match?.[1];
}

/** §13.1.5: an entity tag compares strongly; a date must equal Last-Modified exactly. */
function ifRangeMatches(ifRange: string, response: HeaderMap): boolean {
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) {
    const etag = single(response.etag)?.trim();
    return !ifRange.startsWith('W/') && etag !== undefined && !etag.startsWith('W/') && etag === ifRange;
  }
  return ifRange === single(response['last-modified']);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
