// http-cache-semantics decides storability, Vary matching, Age and
// revalidation (RFC 9111); this subclass gives it our clock and replaces its
// freshness lifetime with the policy in freshness.ts (it has no TTL cap and
// would treat index pages like any other).
import CachePolicy from 'http-cache-semantics';
import { freshnessLifetime, type Freshness, type FreshnessRules } from './freshness';

export interface ProxyPolicy extends CachePolicy {
  readonly freshness: Freshness;
}

export type PolicyFactory = (req: CachePolicy.Request, res: CachePolicy.Response) => ProxyPolicy;

/** Every policy shares the cache's single Host so a client's Host header can never split or poison a key. */
export const KEY_HOST = 'hyperstatic.cache';

export function createPolicyFactory(now: () => number, rules: FreshnessRules): PolicyFactory {
  class ClockedPolicy extends CachePolicy implements ProxyPolicy {
    // Recomputed whenever http-cache-semantics builds a new policy, including
    // revalidatedPolicy() after a 304 (it calls `new this.constructor`).
    readonly freshness: Freshness;

    constructor(req: CachePolicy.Request, res: CachePolicy.Response, options?: CachePolicy.Options) {
      super(req, res, options);
      const path = (req.url ?? '/').split('?')[0];
      this.freshness = freshnessLifetime({ path, headers: res.headers, now: now() }, rules);
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
    // send every hit of `max-age=60, must-revalidate` to the upstream.
    override evaluateRequest(req: CachePolicy.Request): CachePolicy.EvaluateRequestResult {
      const directives = (this as unknown as { _rescc: Record<string, unknown> })._rescc;
      if (!directives['must-revalidate'] || this.stale()) return super.evaluateRequest(req);
      const mustRevalidate = directives['must-revalidate'];
      delete directives['must-revalidate'];
      try {
        return super.evaluateRequest(req);
      } finally {
        directives['must-revalidate'] = mustRevalidate;
      }
    }
  }
  return (req, res) => new ClockedPolicy(req, res, { shared: true });
}
