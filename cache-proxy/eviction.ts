// Explicit invalidation of one process's cache (the feed, PURGE, the API):
// a path is dropped from the store (hard), or its copies marked stale so
// they are revalidated (soft, soft-purge.ts), and every fetch in flight for
// it is disowned either way, so an answer that predates the change is
// never stored.
import type { Logger } from '../common/logger';
import type { Filler } from './cache-fill';
import type { ProxyMetrics } from './metrics';
import { normalizeTarget } from './normalize';
import type { ResponseCache } from './response-cache';
import { markStale, type PurgeMode } from './soft-purge';

export type EvictionSource = 'api' | 'feed' | 'purge';

export interface Evictor {
  /** Drops (or, soft, marks stale) every stored variant and query of a path, at once; mode defaults to PROXY_PURGE_MODE. */
  evict(path: string, source?: EvictionSource, mode?: PurgeMode): void;
  /** Drops everything stored (the feed cannot say what changed). */
  evictAll(source?: EvictionSource): void;
}

export function createEvictor(deps: {
  cache: ResponseCache;
  filler: Filler;
  metrics: ProxyMetrics;
  logger: Logger;
  /** PROXY_PURGE_MODE: what an eviction that names no mode does. */
  defaultMode?: PurgeMode;
  /** The proxy's clock, in ms. */
  now?: () => number;
  /** Called after every eviction (benchmarks time the feed with it). */
  onEvict?: (path: string, source: EvictionSource) => void;
}): Evictor {
  const { cache, filler, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  return {
    evict(path, source = 'api', mode = deps.defaultMode ?? 'hard') {
      let normalized: string;
      try {
        normalized = normalizeTarget(path).path;
      } catch {
        return;
      }
      if (mode === 'soft') {
        const at = now();
        for (const entry of cache.entriesOfPath(normalized)) markStale(entry, at);
      } else cache.evictPath(normalized);
      filler.invalidate(normalized);
      metrics.evictions.inc({ source, mode });
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
