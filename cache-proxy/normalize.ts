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

/** Content codings worth a separate variant; anything else is served identity. */
const CODINGS = ['br', 'gzip', 'zstd', 'deflate'] as const;

/**
 * Accept-Encoding reduced to the codings it accepts, in a fixed order
 * (`gzip, br` and `br,gzip;q=0.8` both become `br, gzip`), so that a
 * response varying on it is stored once per set of codings rather than once
 * per spelling (Varnish does the same). Undefined when no coding is accepted.
 */
export function normalizeAcceptEncoding(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value.join(',') : value).toLowerCase();
  if (text === '') return undefined;
  const accepted = new Set<string>();
  let star = false;
  for (const part of text.split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim());
    // RFC 9110 §12.5.3: q=0 means "not acceptable".
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    if (coding === '*') star = true;
    else if ((CODINGS as readonly string[]).includes(coding)) accepted.add(coding);
  }
  const out = CODINGS.filter((c) => accepted.has(c) || (star && (c === 'br' || c === 'gzip')));
  return out.length === 0 ? undefined : out.join(', ');
}
