// Prometheus metrics of the cache tier (docs/operations.md, "Monitoring"):
// hits, misses, stale serving, coalescing, upstream health and the bytes
// held in memory.
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Per-request counts kept as plain numbers and handed to prom-client only
 * when /metrics is scraped: a labelled Counter.inc() on every hit costs more
 * than serving the hit itself.
 */
export interface Tally {
  hits: number;
  /** Responses sent, by status code. */
  readonly statuses: Map<number, number>;
}

export interface ProxyMetrics {
  readonly tally: Tally;
  readonly misses: Counter;
  readonly stale: Counter<'reason'>;
  readonly coalesced: Counter;
  readonly coalesceTimeouts: Counter;
  readonly upstreamErrors: Counter<'upstream' | 'code'>;
  readonly upstreamUp: Gauge<'upstream'>;
  readonly upstreamBehind: Counter<'upstream'>;
  readonly evictions: Counter<'source' | 'mode'>;
  readonly connectionsRefused: Counter<'reason'>;
  readonly feedStreams: Gauge;
  readonly feedStreamsRefused: Counter<'reason'>;
}

export function countStatus(tally: Tally, status: number): void {
  tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
}

export function createProxyMetrics(
  registry: Registry,
  cache: { readonly bytes: number; readonly size: number },
  reclaimer?: { readonly collections: number },
): ProxyMetrics {
  const registers = [registry];
  const tally: Tally = { hits: 0, statuses: new Map() };
  registerScrapedMetrics(registers, tally, cache, reclaimer);
  return {
    tally,
    misses: new Counter({
      name: 'hyperstatic_proxy_cache_misses_total',
      help: 'Cacheable requests that went to an upstream',
      registers,
    }),
    stale: new Counter({
      name: 'hyperstatic_proxy_stale_served_total',
      help: 'Stale copies served, by reason',
      labelNames: ['reason'],
      registers,
    }),
    coalesced: new Counter({
      name: 'hyperstatic_proxy_coalesced_waits_total',
      help: 'Requests that waited for a fetch already in flight',
      registers,
    }),
    coalesceTimeouts: new Counter({
      name: 'hyperstatic_proxy_coalesce_timeouts_total',
      help: 'Waiting requests that gave up on the fetch they joined',
      registers,
    }),
    upstreamErrors: new Counter({
      name: 'hyperstatic_proxy_upstream_errors_total',
      help: 'Failed upstream requests',
      labelNames: ['upstream', 'code'],
      registers,
    }),
    upstreamUp: new Gauge({
      name: 'hyperstatic_proxy_upstream_up',
      help: '1 while an upstream is considered healthy',
      labelNames: ['upstream'],
      registers,
    }),
    upstreamBehind: new Counter({
      name: 'hyperstatic_proxy_upstream_behind_total',
      help: 'Upstream answers dropped because the upstream had not reached the journal position of the eviction that emptied the key',
      labelNames: ['upstream'],
      registers,
    }),
    evictions: new Counter({
      name: 'hyperstatic_proxy_evictions_total',
      help: 'Explicit invalidations, by source',
      labelNames: ['source', 'mode'],
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'hyperstatic_proxy_connections_refused_total',
      help: 'Reader connections refused or cut: too many from one address (per-address), or a request too slow to arrive (request-timeout)',
      labelNames: ['reason'],
      registers,
    }),
    feedStreams: new Gauge({
      name: 'hyperstatic_proxy_feed_streams',
      help: 'Change-feed streams relayed to readers now',
      registers,
    }),
    feedStreamsRefused: new Counter({
      name: 'hyperstatic_proxy_feed_streams_refused_total',
      help: 'Change-feed streams refused: the proxy is at PROXY_FEED_MAX_STREAMS (total) or the address at PROXY_FEED_MAX_STREAMS_PER_ADDRESS (per-address)',
      labelNames: ['reason'],
      registers,
    }),
  };
}

/** The metrics read only when /metrics is scraped: the tally, the cache's size and the reclaimer's collections. */
function registerScrapedMetrics(
  registers: Registry[],
  tally: Tally,
  cache: { readonly bytes: number; readonly size: number },
  reclaimer?: { readonly collections: number },
): void {
  let collectionsSeen = 0;
  new Counter({
    name: 'hyperstatic_proxy_reclaim_collections_total',
    help: 'Full garbage collections started to return the memory of bodies the cache dropped',
    registers,
    collect() {
      const collections = reclaimer?.collections ?? 0;
      this.inc(collections - collectionsSeen);
      collectionsSeen = collections;
    },
  });
  new Gauge({
    name: 'hyperstatic_proxy_cache_bytes',
    help: 'Bytes held by the cache (bodies, headers and per-entry bookkeeping)',
    registers,
    collect() {
      this.set(cache.bytes);
    },
  });
  new Gauge({
    name: 'hyperstatic_proxy_cache_entries',
    help: 'Responses held by the cache (one per variant)',
    registers,
    collect() {
      this.set(cache.size);
    },
  });
  new Counter({
    name: 'hyperstatic_proxy_cache_hits_total',
    help: 'Requests answered from a fresh cached copy',
    registers,
    collect() {
      this.inc(tally.hits);
      tally.hits = 0;
    },
  });
  new Counter({
    name: 'hyperstatic_proxy_responses_total',
    help: 'Responses sent, by status',
    labelNames: ['status'],
    registers,
    collect() {
      for (const [status, count] of tally.statuses) this.inc({ status: String(status) }, count);
      tally.statuses.clear();
    },
  });
}
