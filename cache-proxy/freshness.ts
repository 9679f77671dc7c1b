// The cache tier's freshness policy (docs/cache-proxy.md, "Freshness
// policy") as a pure function: headers, path and the current time in, a
// freshness lifetime out. No I/O, no clock of its own; cache-policy.ts
// plugs it into http-cache-semantics.
import { PAGE_KINDS, type PageKind } from '../common/feed-format';
import type { HeaderMap } from '../common/http-conditional';

export type { HeaderMap };

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

/** Splits a Cache-Control value into lower-cased directives; a directive without a value maps to true. */
export function parseCacheControl(value: string | string[] | undefined): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text) return directives;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!name) continue;
    directives.set(
      name,
      eq === -1
        ? true
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
    );
  }
  return directives;
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
  const cc = parseCacheControl(headers['cache-control']);
  // RFC 9111 §5.2.2.4: no-cache means a stored copy must be validated before every use.
  if (cc.has('no-cache') || cc.has('no-store')) return { lifetime: 0, source: 'explicit' };
  // RFC 9110 §12.5.5: Vary: * never matches another request.
  if (single(headers.vary)?.trim() === '*') return { lifetime: 0, source: 'explicit' };
  // A shared cache must not hand one reader's Set-Cookie to another unless the origin says it is public.
  if (headers['set-cookie'] !== undefined && !cc.has('public') && !cc.has('immutable'))
    return { lifetime: 0, source: 'explicit' };

  const date = parseDate(headers.date) ?? input.now;
  const explicit = explicitLifetime(cc, headers, date);
  const kind = pageKind(input.path, headers, rules.indexPaths);

  if (kind === 'index' || kind === 'feed') {
    return { lifetime: explicit === undefined ? rules.indexTtl : Math.min(explicit, rules.indexTtl), source: 'index' };
  }
  if (explicit !== undefined) return { lifetime: explicit, source: 'explicit' };
  // RFC 8246: immutable without an explicit lifetime lasts as long as we allow anything to.
  if (cc.has('immutable')) return { lifetime: rules.maxTtl, source: 'immutable' };

  const lastModified = parseDate(headers['last-modified']);
  if (lastModified === undefined || lastModified >= date) return { lifetime: rules.minTtl, source: 'none' };
  const heuristic = (rules.heuristicFactor * (date - lastModified)) / 1000;
  return { lifetime: clamp(heuristic, rules.minTtl, rules.maxTtl), source: 'heuristic' };
}

function explicitLifetime(cc: Map<string, string | true>, headers: HeaderMap, date: number): number | undefined {
  // RFC 9111 §5.2.2.10: a shared cache prefers s-maxage over max-age and Expires.
  for (const name of ['s-maxage', 'max-age']) {
    const value = cc.get(name);
    if (value === undefined) continue;
    const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : 0;
    return seconds;
  }
  const expiresHeader = single(headers.expires);
  if (expiresHeader !== undefined) {
    // RFC 9111 §5.3: an invalid Expires (e.g. "0") means already expired.
    const expires = parseDate(expiresHeader);
    return expires === undefined ? 0 : Math.max(0, (expires - date) / 1000);
  }
  return undefined;
}

function parseDate(value: string | string[] | undefined): number | undefined {
  const text = single(value);
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
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
