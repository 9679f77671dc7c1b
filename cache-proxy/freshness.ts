// The cache tier's freshness policy (docs/cache-proxy.md, "Freshness
// policy") as a pure function: headers, path and the current time in, a
// freshness lifetime out. No I/O, no clock of its own; cache-policy.ts
// plugs it into http-cache-semantics.
import { PAGE_KINDS, type PageKind } from '../common/feed-format';
import type { HeaderMap } from '../common/http-conditional';
import { parseHttpDate } from '../common/http-date';
import { deltaSeconds, parseCacheControl, responseDirectives, type Directives } from './cache-directives';

export type { HeaderMap };
// Kept here for the callers that read request directives alongside freshness.
export { parseCacheControl };

/** Response header naming the kind of page a Hyperstatic mirror serves. */
export const KIND_HEADER = 'hyperstatic-kind';

export interface FreshnessRules {
  /** Fraction of (now − Last-Modified) used as freshness when none is explicit. */
  readonly heuristicFactor: number;
  /** Clamp of heuristic freshness, in seconds. */
  readonly minTtl: number;
  readonly maxTtl: number;
  /** Fixed freshness of index and feed pages, in seconds. */
  readonly indexTtl: number;
  /** Paths that are index pages when the upstream names no kind. */
  readonly indexPaths: readonly RegExp[];
}

export type FreshnessSource = 'explicit' | 'index' | 'heuristic' | 'immutable' | 'none';

export interface Freshness {
  /** Seconds after the response's Date during which it is fresh. */
  readonly lifetime: number;
  readonly source: FreshnessSource;
}

export interface FreshnessInput {
  /** Normalized path, without the query. */
  readonly path: string;
  readonly headers: HeaderMap;
  /** The response's status; heuristics apply only to heuristically cacheable ones. Default 200. */
  readonly status?: number;
  /** Current time, ms since the epoch (used when the response has no valid Date). */
  readonly now: number;
}

/** Compiles `*` globs (`/tags/*`, `*.xml`, `/articles*`) into anchored regular expressions. */
export function compilePathRules(globs: readonly string[]): RegExp[] {
  return globs.map((glob) => new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`));
}

/** The page kind of a response: the upstream's Hyperstatic-Kind header, else `index` by path rule, else undefined. */
export function pageKind(path: string, headers: HeaderMap, indexPaths: readonly RegExp[]): PageKind | undefined {
  const declared = single(headers[KIND_HEADER])?.trim().toLowerCase();
  if (declared && (PAGE_KINDS as readonly string[]).includes(declared)) return declared as PageKind;
  return indexPaths.some((rule) => rule.test(path)) ? 'index' : undefined;
}

/**
 * How long a response stays fresh, in seconds counted from its Date.
 * - Explicit freshness (s-maxage, max-age, Expires) is honoured as given.
 * - Index and feed pages get the short fixed index TTL, never more than the
 *   upstream allows explicitly.
 * - Otherwise RFC 9111 §4.2.2 heuristic freshness: factor × (Date − Last-Modified),
 *   clamped to [minTtl, maxTtl]; without Last-Modified, minTtl.
 */
export function freshnessLifetime(input: FreshnessInput, rules: FreshnessRules): Freshness {
  const { headers } = input;
  // RFC 9213 §2.2: a targeted field, when present, replaces Cache-Control and Expires for this cache.
  const { directives: cc, targeted } = responseDirectives(headers);
  // RFC 9111 §5.2.2.4: no-cache means a stored copy must be validated before every use.
  if (cc.has('no-cache') || cc.has('no-store')) return { lifetime: 0, source: 'explicit' };
  // RFC 9110 §12.5.5: Vary: * never matches another request.
  if (single(headers.vary)?.trim() === '*') return { lifetime: 0, source: 'explicit' };
  // A shared cache must not hand one reader's Set-Cookie to another unless the origin says it is public.
  if (headers['set-cookie'] !== undefined && !cc.has('public') && !cc.has('immutable'))
    return { lifetime: 0, source: 'explicit' };

  const date = parseDate(headers.date, input.now) ?? input.now;
  const explicit = explicitLifetime(cc, targeted ? {} : headers, date, input.now);
  // RFC 9111 §4.2.2: no heuristic (nor our index TTL, which is one) for a status that is not
  // heuristically cacheable (RFC 9110 §15.1) unless the origin marked the response public.
  if (!HEURISTIC_STATUSES.has(input.status ?? 200) && !cc.has('public'))
    return { lifetime: explicit ?? 0, source: explicit === undefined ? 'none' : 'explicit' };
  const kind = pageKind(input.path, headers, rules.indexPaths);

  if (kind === 'index' || kind === 'feed') {
    return { lifetime: explicit === undefined ? rules.indexTtl : Math.min(explicit, rules.indexTtl), source: 'index' };
  }
  if (explicit !== undefined) return { lifetime: explicit, source: 'explicit' };
  // RFC 8246: immutable without an explicit lifetime lasts as long as we allow anything to.
  if (cc.has('immutable')) return { lifetime: rules.maxTtl, source: 'immutable' };

  const lastModified = parseDate(headers['last-modified'], input.now);
  if (lastModified === undefined || lastModified >= date) return { lifetime: rules.minTtl, source: 'none' };
  const heuristic = (rules.heuristicFactor * (date - lastModified)) / 1000;
  return { lifetime: clamp(heuristic, rules.minTtl, rules.maxTtl), source: 'heuristic' };
}

/** RFC 9110 §15.1: status codes heuristically cacheable (206 too, but we never store one). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
]);

function explicitLifetime(cc: Directives, headers: HeaderMap, date: number, now: number): number | undefined {
  // RFC 9111 §5.2.2.10: a shared cache prefers s-maxage over max-age and Expires.
  for (const name of ['s-maxage', 'max-age']) {
    const value = cc.get(name);
    if (value === undefined) continue;
    // §4.2.1: an invalid value makes the response stale.
    return deltaSeconds(value) ?? 0;
  }
  const expiresHeader = single(headers.expires);
  if (expiresHeader !== undefined) {
    // RFC 9111 §5.3: an invalid Expires (e.g. "0", or any date not in an RFC 9110 §5.6.7 form) means already expired.
    const expires = parseDate(expiresHeader, now);
    return expires === undefined ? 0 : Math.max(0, (expires - date) / 1000);
  }
  return undefined;
}

function parseDate(value: string | string[] | undefined, now: number): number | undefined {
  return parseHttpDate(single(value), now);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
