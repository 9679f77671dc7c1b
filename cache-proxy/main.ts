// Composition root of the cache proxy: reads the config, builds the cache,
// the upstream pool, the metrics, the request handler and its server, and
// follows the change feed to evict changed pages at once
// (docs/cache-proxy.md, "Feed-driven eviction"). What each piece does lives
// in its own module; this file only wires them.
import type { Registry } from 'prom-client';
import { ConfigError, type Config } from '../common/config';
import type { RunningService } from '../common/lifecycle';
import { createLogger, type Logger, logStarted } from '../common/logger';
import { createMetricsRegistry, createOps } from '../common/ops';
import { createFiller } from './cache-fill';
import { createPolicyFactory } from './cache-policy';
import { createCatchUp, type CatchUp } from './catch-up';
import { createEvictor, type EvictionSource, type Evictor } from './eviction';
import { followChanges } from './feed-eviction';
import { compilePathRules, type FreshnessRules } from './freshness';
import { parseGraceRules, upstreamName, type GraceLimits } from './grace';
import { KEEP_ALIVE_MS, type ClientLimits } from './http-server';
import { createReclaimer, holdYoungGeneration } from './memory';
import { createProxyMetrics, type ProxyMetrics } from './metrics';
import { listenPublic, type PublicListeners } from './public-listeners';
import { listenOperator, type OperatorDeps, type OperatorListener } from './operator-routes';
import { createRequestHandler, type HandlerOptions, type RequestHandler } from './request-handler';
import { createResponseCache } from './response-cache';
import type { BodyLimits } from './upstream-body';
import type { PurgeMode } from './soft-purge';
import { createUpstreamPool, type UpstreamPool } from './upstream-pool';

export interface ProxyOptions {
  logger?: Logger;
  registry?: Registry;
  /** The clock every freshness decision uses; tests inject a fake one. */
  now?: () => number;
  /** Follow the change feed here (default); a cluster worker leaves that to the primary. */
  followFeed?: boolean;
  /** Tells the other workers of a cluster about a path purged here. */
  broadcastPurge?: (path: string, mode?: PurgeMode) => void;
  /** Cluster workers: the whole cluster's metrics for /metrics. */
  clusterMetrics?: () => Promise<string>;
  /** The proxy is the only thing this process runs, so it may tune V8 for itself (memory.ts). */
  ownsProcess?: boolean;
  /** Called after every eviction (benchmarks time the feed with it). */
  onEvict?: (path: string, source: EvictionSource) => void;
}

export interface RunningProxy extends RunningService, Evictor {
  /** The operator listener (PROXY_INTERNAL_PORT), when one is configured. */
  readonly internalUrl?: string;
  /** The HTTPS listener (PROXY_TLS_PORT), when one is configured. */
  readonly tlsUrl?: string;
  /** Reads the TLS certificate files again (what SIGHUP does); a bad file keeps the old ones and is logged. */
  reloadTls(): void;
}

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
  const catchUp = createCatchUp(config.proxyUpstreams.map(upstreamName));
  const pool = createPool(config, logger, metrics, catchUp);
  const policyFor = createPolicyFactory(now, freshnessRules(config));
  const filler = createFiller({ cache, pool, policyFor, logger, catchUp, ...bodyLimits(config) });
  const evictorDeps = { cache, filler, metrics, logger, now, catchUp, onEvict: options.onEvict };
  const evictor = createEvictor({ ...evictorDeps, defaultMode: config.proxyPurgeMode });
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
    purge: (path, mode) => {
      evictor.evict(path, 'purge', mode);
      options.broadcastPurge?.(path, mode);
    },
    options: handlerOptions(config, graceLimits(config)),
  });

  const { server, internal } = await listenAll(config, handler, logger, clientLimits(config, metrics), {
    ops,
    clusterMetrics: options.clusterMetrics,
  }).catch((error: unknown) => {
    pool.close();
    throw error;
  });
  const feed = options.followFeed === false ? undefined : followFeedInto(evictor, config, logger);
  logStarted(
    logger,
    'proxy',
    {
      url: server.url,
      tlsUrl: server.tlsUrl,
      internalUrl: internal?.url,
      upstreams: config.proxyUpstreams,
      feed: feed ? 'following' : 'off',
    },
    'cache proxy listening',
  );

  const stopReloading = options.ownsProcess && server.tlsUrl ? reloadOnHangup(server) : undefined;

  return {
    name: 'cache-proxy',
    url: server.url,
    tlsUrl: server.tlsUrl,
    internalUrl: internal?.url,
    evict: evictor.evict,
    evictAll: evictor.evictAll,
    reloadTls: () => server.reloadTls(),
    async close() {
      stopReloading?.();
      feed?.close();
      pool.close();
      await Promise.all([server.close(), internal?.close()]);
      await feed?.done;
    },
  };
}

/** The upstreams, nearest first, their failures, health and lag counted in /metrics, their positions noted. */
function createPool(config: Config, logger: Logger, metrics: ProxyMetrics, catchUp: CatchUp): UpstreamPool {
  const pool = createUpstreamPool({
    urls: config.proxyUpstreams,
    timeoutMs: config.proxyUpstreamTimeoutMs,
    probeIntervalMs: config.proxyProbeIntervalMs,
    probePath: config.proxyProbePath,
    catchUpWaitMs: config.proxyCatchUpWaitMs,
    logger,
    onFailure: (upstream, error) => metrics.upstreamErrors.inc({ upstream: upstream.name, code: error.code }),
    onStateChange: (upstream) => metrics.upstreamUp.set({ upstream: upstream.name }, upstream.up ? 1 : 0),
    onPosition: (upstream, position) => catchUp.seen(upstream.name, position),
    onBehind: (upstream) => metrics.upstreamBehind.inc({ upstream: upstream.name }),
  });
  for (const upstream of pool.upstreams) metrics.upstreamUp.set({ upstream: upstream.name }, 1);
  return pool;
}

/**
 * SIGHUP re-reads the certificates (certbot's deploy hook, systemctl reload);
 * only a process that is the proxy alone listens for it. Returns the undo.
 */
function reloadOnHangup(server: PublicListeners): () => void {
  const onHangup = () => server.reloadTls();
  process.on('SIGHUP', onHangup);
  return () => process.off('SIGHUP', onHangup);
}

/** The readers' listeners (plain and HTTPS), then the operator's; nothing stays open if one fails. */
async function listenAll(
  config: Config,
  handler: RequestHandler,
  logger: Logger,
  limits: ClientLimits,
  deps: OperatorDeps,
) {
  const server = await listenPublic(config, handler, logger, limits);
  const internal = await listenInternal(config, deps).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  return { server, internal };
}

/** The operator listener on INTERNAL_BIND_HOST:PROXY_INTERNAL_PORT, when one is configured. */
async function listenInternal(config: Config, deps: OperatorDeps): Promise<OperatorListener | undefined> {
  if (config.proxyInternalPort === undefined) return undefined;
  return listenOperator(deps, config.proxyInternalPort, config.internalBindHost);
}

function freshnessRules(config: Config): FreshnessRules {
  return {
    heuristicFactor: config.proxyHeuristicFactor,
    minTtl: config.proxyMinTtl,
    maxTtl: config.proxyMaxTtl,
    indexTtl: config.proxyIndexTtl,
    indexPaths: compilePathRules(config.proxyIndexPaths),
  };
}

/** Evicts what the change feed says changed (docs/cache-proxy.md, "Feed-driven eviction"). */
function followFeedInto(evictor: Evictor, config: Config, logger: Logger) {
  return followChanges(config, logger, {
    evict: (path, mode, position, gone) => evictor.evict(path, 'feed', mode, position, gone),
    evictAll: (position) => evictor.evictAll('feed', position),
  });
}

function bodyLimits(config: Config): BodyLimits {
  return {
    maxEntryBytes: config.proxyMaxEntryBytes,
    maxResponseBytes: config.proxyMaxResponseBytes,
    fillTimeoutMs: config.proxyFillTimeoutMs,
  };
}

function clientLimits(config: Config, metrics: ProxyMetrics): ClientLimits {
  return {
    headersTimeoutMs: config.proxyHeadersTimeoutMs,
    requestTimeoutMs: config.proxyRequestTimeoutMs,
    maxConnectionsPerAddress: config.proxyMaxConnectionsPerAddress,
    onRefused: (reason) => metrics.connectionsRefused.inc({ reason }),
  };
}

/** Stale-serving limits and the operator's grace rules; a bad rule fails the start, naming PROXY_GRACE_RULES. */
export function graceLimits(config: Config): GraceLimits {
  let rules;
  try {
    rules = parseGraceRules(config.proxyGraceRules, config.proxyUpstreams);
  } catch (error) {
    throw new ConfigError('PROXY_GRACE_RULES', (error as Error).message);
  }
  return {
    rules,
    maxStaleWhileRevalidate: config.proxyStaleWhileRevalidate,
    maxStaleIfError: config.proxyStaleIfError,
  };
}

function handlerOptions(config: Config, grace: GraceLimits): HandlerOptions {
  return {
    grace,
    coalesceWaitMs: config.proxyCoalesceTimeoutMs,
    accessLog: config.proxyAccessLog ?? true,
    purgeToken: config.proxyPurgeToken,
    adminToken: config.proxyAdminToken,
    keepAliveSeconds: KEEP_ALIVE_MS / 1000,
    feedStreams: { maxStreams: config.proxyFeedMaxStreams, maxPerAddress: config.proxyFeedMaxStreamsPerAddress },
  };
}
