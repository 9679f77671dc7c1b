// Explicit invalidation of one process's cache (the feed, PURGE, the API):
// a path is dropped from the store (hard), or its copies marked stale so
// they are revalidated (soft, soft-purge.ts), and every fetch in flight for
// it is disowned either way, so an answer that predates the change is
// never stored. An eviction the feed made at a journal position also
// holds the path's next fill to an upstream at or past it (catch-up.ts).
import type { Logger } from '../common/logger';
import type { Filler } from './cache-fill';
import type { CatchUp } from './catch-up';
import type { ProxyMetrics } from './metrics';
import { normalizeTarget } from './normalize';
import type { ResponseCache } from './response-cache';
import { markStale, type PurgeMode } from './soft-purge';

export type EvictionSource = 'api' | 'feed' | 'purge';

export interface Evictor {
  /**
   * Drops (or, soft, marks stale) every stored variant and query of a path, at once; mode defaults to
   * PROXY_PURGE_MODE. `position`: the journal position of the change, which the next fill must reflect;
   * `gone`: the change removed the page (unpublished, deleted, taken down), so no answer from before it
   * may be served even when no upstream catches up (catch-up.ts).
   */
  evict(path: string, source?: EvictionSource, mode?: PurgeMode, position?: number, gone?: boolean): void;
  /** Drops everything stored (the feed cannot say what changed), up to journal position `position` when known. */
  evictAll(source?: EvictionSource, position?: number): void;
}

export function createEvictor(deps: {
  cache: ResponseCache;
  filler: Filler;
  metrics: ProxyMetrics;
  logger: Logger;
  /** Where the position of each eviction is kept for the fills that follow it. */
  catchUp?: CatchUp;
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
    evict(path, source = 'api', mode = deps.defaultMode ?? 'hard', position, gone = false) {
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
      // Before the fills in flight are disowned: a reader arriving next must already need the new position.
      if (position !== undefined) deps.catchUp?.evicted(normalized, position, gone);
      filler.invalidate(normalized);
      metrics.evictions.inc({ source, mode });
      deps.onEvict?.(normalized, source);
    },
    evictAll(source = 'api', position) {
      const dropped = cache.size;
      cache.evictAll();
      if (position !== undefined) deps.catchUp?.evictedAll(position);
      filler.invalidateAll();
      if (dropped > 0) logger.info({ dropped, source }, 'dropped every cached response');
    },
  };
}
