// Explicit invalidation of one process's cache (the feed, PURGE, the API):
// a path is dropped from the store and from every fetch in flight for it,
// so an answer that predates the change is never stored.
import type { Logger } from '../common/logger';
import type { Filler } from './cache-fill';
import type { ProxyMetrics } from './metrics';
import { normalizeTarget } from './normalize';
import type { ResponseCache } from './response-cache';

export type EvictionSource = 'api' | 'feed' | 'purge';

export interface Evictor {
  /** Drops every stored variant and query of a path, at once. */
  evict(path: string, source?: EvictionSource): void;
  /** Drops everything stored (the feed cannot say what changed). */
  evictAll(source?: EvictionSource): void;
}

export function createEvictor(deps: {
  cache: ResponseCache;
  filler: Filler;
  metrics: ProxyMetrics;
  logger: Logger;
  /** Called after every eviction (benchmarks time the feed with it). */
  onEvict?: (path: string, source: EvictionSource) => void;
}): Evictor {
  const { cache, filler, metrics, logger } = deps;
  return {
    evict(path, source = 'api') {
      let normalized: string;
      try {
        normalized = normalizeTarget(path).path;
      } catch {
        return;
      }
      cache.evictPath(normalized);
      filler.invalidate(normalized);
      metrics.evictions.inc({ source });
      deps.onEvict?.(normalized, source);
    },
    evictAll(source = 'api') {
      const dropped = cache.size;
      cache.evictAll();
      filler.invalidateAll();
      if (dropped > 0) logger.info({ dropped, source }, 'dropped every cached response');
    },
  };
}
