// Request-target normalization (RFC 3986 §6.2.2) so that equivalent URLs
// share one cache key and nothing that climbs out of the root reaches an
// upstream. Pure; main.ts turns a NormalizeError into a 4xx.
import { HyperstaticError } from '../common/errors';

export const MAX_URL_BYTES = 8192;

export class NormalizeError extends HyperstaticError {
  constructor(status: 400 | 414, message: string) {
    super(status === 414 ? 'HS_PROXY_URL_TOO_LONG' : 'HS_PROXY_BAD_PATH', status, message);
  }
}

export interface NormalizedTarget {
  /** Path without dot segments, percent-encoding normalized. */
  readonly path: string;
  /** Query including its leading `?`, or ''. */
  readonly search: string;
  /** path + search: the cache key and what the upstream is asked for. */
  readonly url: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Normalizes an origin-form (or absolute-form) request target; throws NormalizeError for targets it refuses. */
export function normalizeTarget(raw: string): NormalizedTarget {
  if (raw.length > MAX_URL_BYTES) throw new NormalizeError(414, `The address is longer than ${MAX_URL_BYTES} bytes.`);
  let target = raw;
  // RFC 9112 §3.2.2: absolute-form; only its path and query matter (the Host is never part of our key).
  if (!target.startsWith('/')) {
    const match = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (!match) throw new NormalizeError(400, 'The request target must be a path.');
    target = match[1] || '/';
    if (!target.startsWith('/')) target = `/${target}`;
  }
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q);
  if (/[\\\0-\x20\x7f]/.test(rawPath) || /[\0-\x20\x7f]/.test(search))
    throw new NormalizeError(400, 'The address contains characters that are not allowed.');

  const path = removeDotSegments(normalizePercentEncoding(rawPath));
  return { path, search, url: path + search };
}

/** Decodes escaped unreserved characters and upper-cases the rest (§6.2.2.1–2); refuses escaped separators. */
function normalizePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})|%/g, (match, hex: string | undefined) => {
    if (hex === undefined) throw new NormalizeError(400, 'The address has a malformed percent-encoding.');
    const char = String.fromCharCode(parseInt(hex, 16));
    if (UNRESERVED.test(char)) return char;
    // An encoded slash or backslash would let `..%2F` climb past our dot-segment removal on a lenient upstream.
    if (char === '/' || char === '\\' || char === '\0')
      throw new NormalizeError(400, 'The address contains an encoded path separator.');
    return `%${hex.toUpperCase()}`;
  });
}

/** RFC 3986 §5.2.4, plus collapsing empty segments (`//`), which no static page uses. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else if (segment === '.' || (segment === '' && !last)) {
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  });
  return `/${out.join('/')}`;
}

/**
 * Targets normalizeTarget() would return unchanged: no dot or empty
 * segments, no percent-escapes, no control characters, no fragment. The hit
 * path uses the raw target as the key when this holds and takes the slow
 * path otherwise.
 */
const ALREADY_NORMAL = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9_~.-]*)*\/?(?:\?[^#\0-\x20\x7f]*)?$/;

export function isNormalTarget(raw: string): boolean {
  return raw.length <= MAX_URL_BYTES && raw.charCodeAt(0) === 47 && ALREADY_NORMAL.test(raw);
}

/** Content codings worth a variant, best first: the first one a reader accepts is the one it is served. */
const CODINGS = ['br', 'gzip', 'zstd', 'deflate'] as const;
export type Coding = (typeof CODINGS)[number];

/** Raw Accept-Encoding values seen lately and their coding: browsers send a handful of spellings, each millions of times. */
const remembered = new Map<string, Coding | undefined>();
const REMEMBERED_MAX = 256;

/**
 * Accept-Encoding reduced to the one coding this reader will be served:
 * the best (CODINGS order) it accepts, or undefined for identity. A
 * response varying on it is then stored once per coding, not once per
 * spelling or per set of codings: `gzip, deflate, br, zstd` (Chrome),
 * `gzip, deflate, br` (Safari) and `br, gzip` all become `br`, as CDNs
 * and Varnish's own gzip handling reduce it. The upstream is asked with
 * the reduced value, so it answers with that coding or identity.
 */
export function normalizeAcceptEncoding(value: string | string[] | undefined): Coding | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return bestCoding(value.join(','));
  if (remembered.has(value)) return remembered.get(value);
  const coding = bestCoding(value);
  if (remembered.size >= REMEMBERED_MAX) remembered.clear();
  remembered.set(value, coding);
  return coding;
}

function bestCoding(value: string): Coding | undefined {
  const text = value.toLowerCase();
  if (text === '') return undefined;
  const accepted = new Set<string>();
  const refused = new Set<string>();
  let star = false;
  for (const part of text.split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim());
    // RFC 9110 §12.5.3: q=0 means "not acceptable".
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) refused.add(coding);
    else if (coding === '*') star = true;
    else accepted.add(coding);
  }
  // RFC 9110 §12.5.3: `*` matches any coding not listed; br and gzip are the ones worth serving.
  const starred = star ? (['br', 'gzip'] as const).find((c) => !refused.has(c)) : undefined;
  return CODINGS.find((c) => accepted.has(c) && !refused.has(c)) ?? starred;
}
