// Composition root of the cache proxy: builds the cache, the upstream pool,
// the metrics and the plain node:http server (no framework on the hit path),
// and follows the change feed to evict changed pages at once (DESIGN §2.7).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../common/config';
import { followFeed, type FeedFollower } from '../common/feed-client';
import type { RunningService } from '../common/lifecycle';
import { createLogger, type Logger } from '../common/logger';
import { createMetricsRegistry, createOps } from '../common/ops';
import { createFiller } from './cache-fill';
import { createPolicyFactory } from './cache-policy';
import { compilePathRules } from './freshness';
import { createReclaimer, holdYoungGeneration } from './memory';
import { createProxyMetrics } from './metrics';
import { normalizeTarget } from './normalize';
import { installFastPath } from './fast-server';
import { createRequestHandler } from './request-handler';
import { createResponseCache } from './response-cache';
import { createUpstreamPool } from './upstream-pool';

export interface ProxyOptions {
  logger?: Logger;
  registry?: Registry;
  /** The clock every freshness decision uses; tests inject a fake one. */
  now?: () => number;
  /** Follow the change feed here (default); a cluster worker leaves that to the primary. */
  followFeed?: boolean;
  /** Tells the other workers of a cluster about a path purged here. */
  broadcastPurge?: (path: string) => void;
  /** Cluster workers: the whole cluster's metrics for /metrics. */
  clusterMetrics?: () => Promise<string>;
  /** The proxy is the only thing this process runs, so it may tune V8 for itself (memory.ts). */
  ownsProcess?: boolean;
  /** Called after every eviction (benchmarks time the feed with it). */
  onEvict?: (path: string, source: EvictionSource) => void;
}

export interface RunningProxy extends RunningService {
  /** Drops every stored variant and query of a path, at once. */
  evict(path: string, source?: EvictionSource): void;
  /** Drops everything stored (the feed cannot say what changed). */
  evictAll(source?: EvictionSource): void;
}

export type EvictionSource = 'api' | 'feed' | 'purge';

/** Largest request head (request line + headers) a reader may send; above it node answers 431. */
const MAX_HEADER_BYTES = 16 * 1024;
/** Idle time after which a reader's keep-alive connection is closed. */
const KEEP_ALIVE_MS = 5_000;

export async function startProxy(config: Config, options: ProxyOptions = {}): Promise<RunningProxy> {
  const logger = options.logger ?? createLogger(config.logLevel, 'cache-proxy');
  const registry = options.registry ?? createMetricsRegistry('cache-proxy');
  const now = options.now ?? Date.now;

  if (options.ownsProcess) holdYoungGeneration();
  const reclaimer = createReclaimer(config.proxyReclaimBytes);
  const cache = createResponseCache({
    maxBytes: config.proxyCacheBytes,
    maxEntryBytes: config.proxyMaxEntryBytes,
    onRelease: reclaimer.released,
  });
  const metrics = createProxyMetrics(registry, cache, reclaimer);
  const pool = createUpstreamPool({
    urls: config.proxyUpstreams,
    timeoutMs: config.proxyUpstreamTimeoutMs,
    probeIntervalMs: config.proxyProbeIntervalMs,
    probePath: config.proxyProbePath,
    logger,
    onFailure: (upstream, error) => metrics.upstreamErrors.inc({ upstream: upstream.name, code: error.code }),
    onStateChange: (upstream) => metrics.upstreamUp.set({ upstream: upstream.name }, upstream.up ? 1 : 0),
  });
  for (const upstream of pool.upstreams) metrics.upstreamUp.set({ upstream: upstream.name }, 1);

  const policyFor = createPolicyFactory(now, {
    heuristicFactor: config.proxyHeuristicFactor,
    minTtl: config.proxyMinTtl,
    maxTtl: config.proxyMaxTtl,
    indexTtl: config.proxyIndexTtl,
    indexPaths: compilePathRules(config.proxyIndexPaths),
  });
  const filler = createFiller({ cache, pool, policyFor, maxEntryBytes: config.proxyMaxEntryBytes });
  const ops = createOps(registry, {
    upstreams: async () => {
      if (!pool.anyUp()) throw new Error('no upstream is healthy');
    },
  });
  const handler = createRequestHandler({
    cache,
    filler,
    pool,
    metrics,
    ops,
    logger,
    now,
    clusterMetrics: options.clusterMetrics,
    purge: (path) => {
      evict(path, 'purge');
      options.broadcastPurge?.(path);
    },
    options: {
      staleWhileRevalidate: config.proxyStaleWhileRevalidate,
      staleIfError: config.proxyStaleIfError,
      coalesceWaitMs: config.proxyCoalesceTimeoutMs,
      accessLog: config.proxyAccessLog,
      purgeToken: config.proxyPurgeToken,
      keepAliveSeconds: KEEP_ALIVE_MS / 1000,
    },
  });

  function evict(path: string, source: EvictionSource = 'api'): void {
    let normalized: string;
    try {
      normalized = normalizeTarget(path).path;
    } catch {
      return;
    }
    cache.evictPath(normalized);
    filler.invalidate(normalized);
    metrics.evictions.inc({ source });
    options.onEvict?.(normalized, source);
  }

  function evictAll(source: EvictionSource = 'api'): void {
    const dropped = cache.size;
    cache.evictAll();
    filler.invalidateAll();
    if (dropped > 0) logger.info({ dropped, source }, 'dropped every cached response');
  }

  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: 20_000,
      requestTimeout: 120_000,
      keepAliveTimeout: KEEP_ALIVE_MS,
    },
    handler,
  );
  const fastPath = installFastPath(server, {
    answer: handler.answerFast,
    maxHeaderBytes: MAX_HEADER_BYTES,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // RFC 9110 §15.5.20 / RFC 6585 §5: node flags an oversized head; say so instead of dropping the connection.
    if (!socket.writable) return socket.destroy();
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'HPE_URI_TOO_LONG'
          ? '414 URI Too Long'
          : '400 Bad Request';
    socket.end(
      `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\ncache-status: Hyperstatic; fwd=bypass; detail=rejected\r\n\r\n`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.proxyPort, config.bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  const feed =
    options.followFeed === false
      ? undefined
      : followChanges(config, logger, { evict: (path) => evict(path, 'feed'), evictAll: () => evictAll('feed') });
  logger.info({ url, upstreams: config.proxyUpstreams, feed: feed ? 'following' : 'off' }, 'cache proxy listening');

  return {
    name: 'cache-proxy',
    url,
    evict,
    evictAll,
    async close() {
      feed?.close();
      pool.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        fastPath.closeConnections();
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await feed?.done;
    },
  };
}

/**
 * Evicts every path of every batch the feed delivers; TTLs remain the safety
 * net while it is cut. On first contact (and whenever the feed's head is
 * behind what we saw, e.g. a re-bootstrapped mirror) the feed cannot say what
 * changed while we were not listening, so everything cached so far goes:
 * a 404 stored before the first hello must not outlive the page's arrival.
 */
export function followChanges(
  config: Config,
  logger: Logger,
  sink: { evict(path: string): void; evictAll(): void },
): FeedFollower | undefined {
  if (config.proxyFeedUrl === 'off') return undefined;
  const automatic = config.proxyFeedUrl === '';
  const base = config.proxyFeedUrl || config.proxyUpstreams[0];
  let head = 0;
  let greeted = false;
  const follower: FeedFollower = followFeed({
    urls: [base],
    after: () => head,
    onHello: (hello) => {
      if (!greeted || hello.head < head) {
        head = hello.head;
        sink.evictAll();
      }
      greeted = true;
    },
    onBatch: async (batch) => {
      for (const entry of batch.entries) {
        sink.evict(entry.path);
        head = Math.max(head, entry.seq);
      }
    },
    onError: (error) => {
      // PROXY_FEED_URL="" means "the first upstream, if it is a Hyperstatic mirror": one that
      // has no feed at all is an ordinary origin, and TTLs alone keep its pages fresh.
      if (automatic && !greeted && /feed answered (404|405|501|[^0-9])/.test(error.message)) {
        logger.info({ upstream: base }, 'first upstream has no change feed; relying on TTLs');
        follower.close();
      }
    },
    logger: logger.child({ feed: base }),
  });
  return follower;
}
