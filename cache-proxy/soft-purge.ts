// Soft purge (PROXY_PURGE_MODE=soft, or one PURGE asking for it): a changed
// page is not dropped but marked stale at once, as a CDN's soft purge does.
// The next reader then takes the usual stale path (serve-cacheable.ts): a
// stale copy while one conditional request revalidates it in the
// background where the stale rules allow it, else a wait for that
// revalidation. The upstream answers a conditional request for an unchanged
// page with a cheap 304, and the cache never empties at once under a burst
// of purges. A takedown is never soft (feed-eviction.ts).
import type { ProxyPolicy } from './cache-policy';
import type { CacheEntry } from './response-cache';

export type PurgeMode = 'hard' | 'soft';

export function parsePurgeMode(raw: string | undefined): PurgeMode | undefined {
  const value = raw?.trim().toLowerCase();
  return value === 'hard' || value === 'soft' ? value : undefined;
}

/**
 * Makes a stored copy stale from now on (RFC 9111 §4.2: a response is stale
 * once its age exceeds its freshness lifetime): its lifetime becomes its age
 * at the purge. Done in place, so the copy keeps its slot, validators and
 * body; a revalidation builds a new policy, which is fresh again.
 */
export function markStale(entry: CacheEntry, nowMs: number): void {
  const base = entry.policy;
  const lifetime = base.age();
  if (base.maxAge() <= lifetime) return;
  // http-cache-semantics decides staleness from maxAge() and age() (its stale(), evaluateRequest()),
  // so overriding maxAge() on a copy of the policy object is enough; every other method is inherited.
  const policy = Object.create(base, { maxAge: { value: () => lifetime } }) as ProxyPolicy;
  Object.assign(entry, { policy, freshUntil: nowMs, hot: undefined });
}
