// http-cache-semantics decides storability, Vary matching, Age and
// revalidation (RFC 9111); this subclass gives it our clock and replaces its
// freshness lifetime with the policy in freshness.ts (it has no TTL cap and
// would treat index pages like any other).
import CachePolicy from 'http-cache-semantics';
import { freshnessLifetime, parseCacheControl, type Freshness, type FreshnessRules } from './freshness';

export interface ProxyPolicy extends CachePolicy {
  readonly freshness: Freshness;
  /** The proxy's clock, in ms. */
  now(): number;
}

export type PolicyFactory = (req: CachePolicy.Request, res: CachePolicy.Response) => ProxyPolicy;

/** Every policy shares the cache's single Host so a client's Host header can never split or poison a key. */
export const KEY_HOST = 'hyperstatic.cache';

export function createPolicyFactory(now: () => number, rules: FreshnessRules): PolicyFactory {
  class ClockedPolicy extends CachePolicy implements ProxyPolicy {
    // Recomputed whenever http-cache-semantics builds a new policy, including
    // revalidatedPolicy() after a 304 (it calls `new this.constructor`).
    readonly freshness: Freshness;
    /** The same response minus must-revalidate, consulted while this one is fresh. */
    private readonly whileFresh?: ClockedPolicy;

    constructor(req: CachePolicy.Request, res: CachePolicy.Response, options?: CachePolicy.Options) {
      super(req, res, options);
      const path = (req.url ?? '/').split('?')[0];
      this.freshness = freshnessLifetime({ path, headers: res.headers, now: now() }, rules);
      const relaxed = withoutRevalidate(res.headers['cache-control']);
      if (relaxed !== undefined)
        this.whileFresh = new ClockedPolicy(
          req,
          { ...res, headers: { ...res.headers, 'cache-control': relaxed } },
          options,
        );
    }

    // Not in the typings, but http-cache-semantics documents now() as the clock to replace.
    now(): number {
      return now();
    }

    override maxAge(): number {
      return this.storable() ? this.freshness.lifetime : 0;
    }

    // RFC 9111 §5.2.2.2: must-revalidate only binds once the response is
    // stale. http-cache-semantics 4.3 revalidates it on every use, which would
    // send every hit of `max-age=60, must-revalidate` to the upstream; while
    // fresh, the same response without the directive decides instead.
    override evaluateRequest(req: CachePolicy.Request): CachePolicy.EvaluateRequestResult {
      if (this.whileFresh && !this.stale()) return this.whileFresh.evaluateRequest(req);
      return super.evaluateRequest(req);
    }
  }
  return (req, res) => new ClockedPolicy(req, res, { shared: true });
}

/** The Cache-Control value without must-revalidate and proxy-revalidate, or undefined when it has neither. */
function withoutRevalidate(value: string | string[] | undefined): string | undefined {
  const directives = parseCacheControl(value);
  if (!directives.has('must-revalidate') && !directives.has('proxy-revalidate')) return undefined;
  const kept: string[] = [];
  for (const [name, arg] of directives)
    if (name !== 'must-revalidate' && name !== 'proxy-revalidate') kept.push(arg === true ? name : `${name}=${arg}`);
  return kept.join(', ');
}
