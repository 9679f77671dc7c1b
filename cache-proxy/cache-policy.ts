// http-cache-semantics decides Vary matching, Age and revalidation
// (RFC 9111); this subclass gives it our clock, replaces its freshness
// lifetime with the policy in freshness.ts (it has no TTL cap and would
// treat index pages like any other), and corrects what it reads too
// loosely: directive names are case-insensitive (RFC 9111 §5.2), a
// targeted field replaces Cache-Control for us (RFC 9213), Age must be an
// integer (§5.1), and any final status with explicit freshness is storable
// (§3), not only the ones it lists.
import CachePolicy from 'http-cache-semantics';
import { OWN_TARGETED_FIELD, parseAge, responseDirectives, type Directives } from './cache-directives';
import { freshnessLifetime, HEURISTIC_STATUSES, type Freshness, type FreshnessRules } from './freshness';

export interface ProxyPolicy extends CachePolicy {
  readonly freshness: Freshness;
  /** The directives this cache obeys for the response (lower-case names; a targeted field's when one decided). */
  readonly directives: Directives;
  /** The proxy's clock, in ms. */
  now(): number;
}

export type PolicyFactory = (req: CachePolicy.Request, res: CachePolicy.Response) => ProxyPolicy;

/** Every policy shares the cache's single Host so a client's Host header can never split or poison a key. */
export const KEY_HOST = 'hyperstatic.cache';

/** Statuses whose caching rules we implement, for must-understand (RFC 9111 §5.2.2.3). */
const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501,
]);

/** The parts of http-cache-semantics' state this subclass reads or corrects (stable in 4.x). */
interface Internals {
  _rescc: Record<string, string | true>;
  _status: number;
  _method: string;
  _noAuthorization: boolean;
  _reqcc: Record<string, string | true>;
}

export function createPolicyFactory(now: () => number, rules: FreshnessRules): PolicyFactory {
  class ClockedPolicy extends CachePolicy implements ProxyPolicy {
    // Recomputed whenever http-cache-semantics builds a new policy, including
    // revalidatedPolicy() after a 304 (it calls `new this.constructor`).
    readonly freshness: Freshness;
    /** Whether a targeted field decided (then Expires does not count, RFC 9213 §2.2). */
    private readonly targeted: boolean;
    /** The same response minus must-revalidate, consulted while this one is fresh. */
    private readonly whileFresh?: ClockedPolicy;

    constructor(req: CachePolicy.Request, res: CachePolicy.Response, options?: CachePolicy.Options, relaxed = false) {
      // RFC 9111 §5.1: an Age that is not a non-negative integer is ignored, not rounded.
      const headers = { ...res.headers };
      if (headers.age !== undefined && parseAge(headers.age) === undefined) delete headers.age;
      super(req, { ...res, headers }, options);
      const { directives, targeted } = responseDirectives(headers);
      this.targeted = targeted !== undefined;
      if (relaxed) {
        directives.delete('must-revalidate');
        directives.delete('proxy-revalidate');
      }
      // Held once, as the object http-cache-semantics reads; `directives` is a view of it.
      (this as unknown as Internals)._rescc = Object.fromEntries(directives);
      const path = (req.url ?? '/').split('?')[0];
      this.freshness = freshnessLifetime({ path, headers, status: res.status, now: now() }, rules);
      if (!relaxed && (directives.has('must-revalidate') || directives.has('proxy-revalidate')))
        this.whileFresh = new ClockedPolicy(req, res, options, true);
    }

    get directives(): Directives {
      return new Map(Object.entries((this as unknown as Internals)._rescc));
    }

    // Not in the typings, but http-cache-semantics documents now() as the clock to replace.
    now(): number {
      return now();
    }

    override maxAge(): number {
      return this.storable() ? this.freshness.lifetime : 0;
    }

    /** RFC 9111 §3, with the directives this cache obeys. */
    override storable(): boolean {
      const { _status: status, _method: method, _noAuthorization, _reqcc, _rescc } = this as unknown as Internals;
      const cc = { has: (name: string) => _rescc[name] !== undefined };
      if (_reqcc['no-store'] || (method !== 'GET' && method !== 'HEAD')) return false;
      // A final status; 206 and 304 are not complete representations (docs/cache-proxy.md, "Partial content").
      if (status < 200 || status === 206 || status === 304) return false;
      // §5.2.2.3: must-understand stores only statuses we implement, and then overrides no-store.
      if (cc.has('must-understand') ? !UNDERSTOOD_STATUSES.has(status) : cc.has('no-store')) return false;
      if (cc.has('private')) return false;
      // §3.5: a response to an authorized request only when the origin says a shared cache may keep it.
      if (!_noAuthorization && !cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate')) return false;
      const expires = !this.targeted && this.responseHeaderValue('expires') !== undefined;
      return cc.has('public') || cc.has('max-age') || cc.has('s-maxage') || expires || HEURISTIC_STATUSES.has(status);
    }

    // RFC 9213: our own targeted field is for this cache alone, never for anyone downstream.
    override responseHeaders(): CachePolicy.Headers {
      const headers = super.responseHeaders();
      delete headers[OWN_TARGETED_FIELD];
      return headers;
    }

    // RFC 9111 §5.2.2.2: must-revalidate only binds once the response is
    // stale. http-cache-semantics 4.3 revalidates it on every use, which would
    // send every hit of `max-age=60, must-revalidate` to the upstream; while
    // fresh, the same response without the directive decides instead.
    override evaluateRequest(req: CachePolicy.Request): CachePolicy.EvaluateRequestResult {
      if (this.whileFresh && !this.stale()) return this.whileFresh.evaluateRequest(req);
      return super.evaluateRequest(req);
    }

    private responseHeaderValue(name: string): unknown {
      return (this as unknown as { _resHeaders: CachePolicy.Headers })._resHeaders[name];
    }
  }
  return (req, res) => new ClockedPolicy(req, res, { shared: true });
}
