// The caching directives this cache obeys for one response: Cache-Control,
// or the most specific targeted field present (RFC 9213), with directive
// names compared case-insensitively (RFC 9111 §5.2), and the Age field
// parsed as RFC 9111 §5.1 says. Pure.
import type { HeaderMap } from '../common/http-conditional';

export type Directives = ReadonlyMap<string, string | true>;

/**
 * Targeted cache-control fields, most specific first (RFC 9213 §2.2).
 * `Hyperstatic-Cache-Control` speaks to this cache alone and is removed
 * before a response leaves it; `CDN-Cache-Control` speaks to every CDN
 * and is passed on to any in front of us.
 */
export const OWN_TARGETED_FIELD = 'hyperstatic-cache-control';
export const TARGETED_FIELDS = [OWN_TARGETED_FIELD, 'cdn-cache-control'] as const;

export interface ResponseDirectives {
  readonly directives: Map<string, string | true>;
  /** The targeted field that decided, if any: then Cache-Control and Expires are ignored (RFC 9213 §2.2). */
  readonly targeted?: (typeof TARGETED_FIELDS)[number];
}

/** Splits a Cache-Control value into lower-cased directives; a directive without a value maps to true. */
export function parseCacheControl(value: string | string[] | undefined): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text) return directives;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!name || directives.has(name)) continue;
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
 * RFC 9213 §2.2: the first targeted field (in TARGETED_FIELDS order) with a
 * valid, non-empty value decides, and Cache-Control and Expires are then
 * ignored; without one, Cache-Control decides. A targeted field's value is
 * a Structured Fields dictionary (RFC 8941 §3.2): lower-case keys, so one
 * that does not parse as such counts as absent.
 */
export function responseDirectives(headers: HeaderMap): ResponseDirectives {
  for (const field of TARGETED_FIELDS) {
    const value = headers[field];
    if (value === undefined) continue;
    const text = (Array.isArray(value) ? value.join(',') : value).trim();
    if (text === '' || !isDictionary(text)) continue;
    return { directives: parseCacheControl(text), targeted: field };
  }
  return { directives: parseCacheControl(headers['cache-control']) };
}

/** The directives as Cache-Control text, lower-cased: what http-cache-semantics is given to read. */
export function formatDirectives(directives: Directives): string {
  const parts: string[] = [];
  for (const [name, value] of directives) parts.push(value === true ? name : `${name}=${value}`);
  return parts.join(', ');
}

/**
 * A delta-seconds directive value (RFC 9111 §1.2.2): digits only, anything
 * else invalid (undefined). Values past 2^31 count as 2^31.
 */
export function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 2 ** 31);
}

/**
 * RFC 9111 §5.1: Age is a non-negative integer; any other value (`7200.0`,
 * `-5`, two differing values) is invalid and ignored (undefined).
 */
export function parseAge(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const values = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim());
  if (values.some((v) => v !== values[0])) return undefined;
  return deltaSeconds(values[0]);
}

// RFC 8941 §3.2 dictionary members: a lower-case key, optionally `=` an item
// (integer, decimal, string, token); parameters after `;` are allowed.
const MEMBER =
  /^[a-z*][a-z0-9_\-.*]*(?:=(?:-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|[A-Za-z*][!#$%&'*+\-.^_`|~:/\w]*))?(?:;.*)?$/;

function isDictionary(text: string): boolean {
  return text.split(',').every((member) => MEMBER.test(member.trim()));
}
