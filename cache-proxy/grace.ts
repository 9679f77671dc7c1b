// When a stale copy may be served (docs/cache-proxy.md, "Stale serving"):
// RFC 9111 §4.2.4 allows it only where the origin allows it (RFC 5861
// stale-while-revalidate and stale-if-error) or where an out-of-band
// contract does, which here is an operator's grace rule for a named
// upstream or a path (PROXY_GRACE_RULES). Pure: directives, path and
// upstream in, seconds out.
import { deltaSeconds, type Directives } from './cache-directives';
import { compilePathRules } from './freshness';

export interface GraceRule {
  /** The rule as written, for messages. */
  readonly source: string;
  /** Upstream name (origin + path, as UpstreamPool names it) this rule is for, or undefined. */
  readonly upstream?: string;
  /** Path glob this rule is for, compiled, or undefined. */
  readonly path?: RegExp;
  readonly staleWhileRevalidate?: number;
  readonly staleIfError?: number;
}

export interface GraceLimits {
  /** Operator rules; the first that matches decides the values it names. */
  readonly rules: readonly GraceRule[];
  /** Upper limits, whatever the origin or a rule allows (PROXY_STALE_WHILE_REVALIDATE, PROXY_STALE_IF_ERROR). */
  readonly maxStaleWhileRevalidate: number;
  readonly maxStaleIfError: number;
}

export interface Grace {
  /** Seconds past freshness a copy may be served while one background fetch refreshes it (RFC 5861 §3). */
  readonly whileRevalidate: number;
  /** Seconds past freshness a copy may be served when the upstreams fail or answer 500, 502, 503 or 504 (RFC 5861 §4). */
  readonly ifError: number;
}

const NONE: Grace = { whileRevalidate: 0, ifError: 0 };

/**
 * The stale allowance of a stored response. Never any when the response
 * forbids stale use explicitly (RFC 9111 §4.2.4: must-revalidate,
 * proxy-revalidate, no-cache, s-maxage); otherwise the first operator rule
 * matching the upstream or the path sets each value it names, the origin's
 * directive gives the others, and the configured maximum caps both.
 */
export function graceFor(
  directives: Directives,
  path: string,
  upstream: string | undefined,
  limits: GraceLimits,
): Grace {
  if (['must-revalidate', 'proxy-revalidate', 'no-cache', 's-maxage'].some((name) => directives.has(name))) return NONE;
  const rule = limits.rules.find(
    (r) => (r.upstream !== undefined && r.upstream === upstream) || (r.path !== undefined && r.path.test(path)),
  );
  const whileRevalidate = rule?.staleWhileRevalidate ?? deltaSeconds(directives.get('stale-while-revalidate')) ?? 0;
  const ifError = rule?.staleIfError ?? deltaSeconds(directives.get('stale-if-error')) ?? 0;
  return {
    whileRevalidate: Math.min(whileRevalidate, limits.maxStaleWhileRevalidate),
    ifError: Math.min(ifError, limits.maxStaleIfError),
  };
}

/** The name UpstreamPool gives an upstream URL: origin plus path, no trailing slash. */
export function upstreamName(raw: string): string {
  const url = new URL(raw);
  return url.origin + url.pathname.replace(/\/$/, '');
}

const SETTINGS = ['upstream', 'path', 'stale-while-revalidate', 'stale-if-error'];

/**
 * Parses PROXY_GRACE_RULES: rules separated by `;`, each made of
 * `name=value` settings separated by spaces: exactly one of `upstream=URL`
 * (one of PROXY_UPSTREAMS) or `path=GLOB`, and at least one of
 * `stale-while-revalidate=SECONDS`, `stale-if-error=SECONDS`. Throws an
 * Error whose message names the rule and what is wrong with it.
 */
export function parseGraceRules(raw: string, upstreams: readonly string[]): GraceRule[] {
  const known = new Set(upstreams.map(upstreamName));
  return raw
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((source, i) => {
      const where = `rule ${i + 1} (${JSON.stringify(source)})`;
      const settings = new Map<string, string>();
      for (const word of source.split(/\s+/)) {
        const eq = word.indexOf('=');
        const name = eq === -1 ? word : word.slice(0, eq).toLowerCase();
        if (eq === -1 || !SETTINGS.includes(name))
          throw new Error(`${where}: unknown setting ${JSON.stringify(word)}; use ${SETTINGS.join('=, ')}=`);
        if (settings.has(name)) throw new Error(`${where}: ${name} is given twice`);
        settings.set(name, word.slice(eq + 1));
      }
      const upstream = settings.get('upstream');
      const path = settings.get('path');
      if ((upstream === undefined) === (path === undefined))
        throw new Error(`${where}: name exactly one of upstream= or path=`);
      let name: string | undefined;
      if (upstream !== undefined) {
        try {
          name = upstreamName(upstream);
        } catch {
          throw new Error(`${where}: upstream= must be a URL from PROXY_UPSTREAMS`);
        }
        if (!known.has(name)) throw new Error(`${where}: ${upstream} is not one of PROXY_UPSTREAMS`);
      }
      if (path !== undefined && !path.startsWith('/') && !path.startsWith('*'))
        throw new Error(`${where}: path= must start with / or *`);
      const seconds = (setting: string): number | undefined => {
        const value = settings.get(setting);
        if (value === undefined) return undefined;
        const parsed = deltaSeconds(value);
        if (parsed === undefined) throw new Error(`${where}: ${setting} must be a whole number of seconds`);
        return parsed;
      };
      const staleWhileRevalidate = seconds('stale-while-revalidate');
      const staleIfError = seconds('stale-if-error');
      if (staleWhileRevalidate === undefined && staleIfError === undefined)
        throw new Error(`${where}: give stale-while-revalidate= or stale-if-error=`);
      return {
        source,
        upstream: name,
        path: path === undefined ? undefined : compilePathRules([path])[0],
        staleWhileRevalidate,
        staleIfError,
      };
    });
}
