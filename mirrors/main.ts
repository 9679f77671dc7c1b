// Composition root of a mirror: reads the config, opens the local copy,
// builds the fetcher, the feed relay, the sync loop (sync-loop.ts: bootstrap,
// then the change feed) and the HTTP server, wires them together and starts
// them. The logic lives in those modules.
import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../common/config';
import type { RunningService } from '../common/lifecycle';
import { createLogger, type Logger, logStarted } from '../common/logger';
import { createMetricsRegistry, createOps } from '../common/ops';
import { createBlobFetcher } from './blob-fetcher';
import { loadBundle } from './bundle/load';
import { createCursorWatch } from './cursor-watch';
import { createFeedHub } from './feed-hub';
import { createMirrorMetrics } from './metrics';
import { MirrorStore } from './mirror-store';
import { TrustState } from '../common/trust/trust-state';
import { frozenSince, freshnessOf } from './freshness';
import { trustAnchorOf } from './trust-anchor';
import { createMirrorServer } from './server';
import { createSyncLoop } from './sync-loop';
import { startStatusReporter } from './status-reporter';
import { SyncStatus } from './sync-status';
import { listen, localUrl } from '../common/listen';

export interface RunningMirror extends RunningService {
  /** The operator listener (MIRROR_INTERNAL_PORT), when one is configured. */
  readonly internalUrl?: string;
  cursor(): number;
  /** Sends a status report to the origin now (it also happens every MIRROR_STATUS_INTERVAL_MS). */
  reportStatus(): Promise<void>;
  /** Resolves once the mirror has applied everything up to `seq`; rejects after `timeoutMs`. */
  waitForCursor(seq: number, timeoutMs: number): Promise<void>;
}

// The composition root: one straight list of constructions, their wiring and
// the shutdown order; splitting it would only hide which part needs which.
// eslint-disable-next-line max-lines-per-function
export async function startMirror(
  config: Config,
  options: {
    logger?: Logger;
    registry?: Registry;
    progressBar?: boolean;
    embedded?: boolean;
    /** `mirror --from-bundle`: verify this bundle and take the copy from it before following the feed. */
    fromBundle?: string;
  } = {},
): Promise<RunningMirror> {
  const logger = options.logger ?? createLogger(config.logLevel, 'mirror');
  const registry = options.registry ?? createMetricsRegistry('mirror');
  // Fail fast: a mirror with no trust anchor could be fed anything (docs/trust.md).
  const anchor = trustAnchorOf(config);
  const store = MirrorStore.open(config.mirrorDataDir);
  const trust = new TrustState(anchor, store.trust);
  if (options.fromBundle !== undefined) {
    try {
      await loadBundle({ dir: options.fromBundle, store, trust, logger });
    } catch (error) {
      store.close();
      throw error;
    }
  }
  // The embedded quick start pins its own origin's key on purpose: one process, nothing to delegate.
  if (anchor.kind === 'pinned' && !options.embedded)
    logger.warn('this mirror trusts one pinned site key (MIRROR_PUBLIC_KEY); pin root keys instead (docs/trust.md)');
  const sync = new SyncStatus();
  const cursorWatch = createCursorWatch(() => store.cursor());
  const metrics = createMirrorMetrics(registry, {
    cursor: () => store.cursor(),
    epoch: () => store.epoch(),
    lagSeconds: () => sync.lagSeconds(),
    lagEntries: () => Math.max(0, sync.snapshot(store.cursor(), store.epoch()).head - store.cursor()),
    connected: () => sync.isConnected(),
    heartbeatAgeSeconds: () => {
      const latest = trust.latestHeartbeat();
      return latest ? Math.max(0, (Date.now() - latest.time) / 1000) : -1;
    },
    frozen: () => frozenSince(trust) !== undefined,
  });
  const fetcher = createBlobFetcher({
    store,
    sources: () => [...config.mirrorOrigins, ...config.mirrorPeers],
    logger,
    concurrency: config.mirrorFetchConcurrency,
    timeoutMs: config.mirrorFetchTimeoutMs,
    onAttemptFailed: () => metrics.blobFetchErrors.inc(),
  });
  const hub = createFeedHub({ store, trust, logger });
  const ops = createOps(registry, {
    index: async () => {
      store.cursor();
    },
  });
  const syncLoop = createSyncLoop({
    store,
    fetcher,
    hub,
    sync,
    metrics,
    logger,
    trust,
    origins: config.mirrorOrigins,
    peers: config.mirrorPeers,
    bootstrap: config.mirrorBootstrap,
    progressBar: options.progressBar,
    reconnectMs: config.mirrorReconnectMs,
    returnToFirstMs: config.mirrorPreferOriginMs,
    onApplied: cursorWatch.advanced,
  });
  const serverOptions = {
    store,
    hub,
    ops,
    logger,
    indexMaxAge: config.mirrorIndexMaxAge,
    frameAncestors: config.mirrorFrameAncestors,
    status: () => {
      const { cursor, epoch } = store.state();
      return {
        ...sync.snapshot(cursor, epoch),
        feedClients: hub.clients(),
        freshness: freshnessOf(trust),
        address: { publicUrl: config.mirrorPublicUrl || null, onionLocation: config.mirrorOnionLocation || null },
      };
    },
    serving: () => !syncLoop.bootstrapping(),
    frozenSince: () => frozenSince(trust),
    trust,
    adminToken: config.mirrorAdminToken,
    address: { publicUrl: config.mirrorPublicUrl, onionLocation: config.mirrorOnionLocation },
    failover: { anchor, staleMs: config.mirrorFailoverStaleMs, timeoutMs: config.mirrorFailoverTimeoutMs },
  };
  const server = createMirrorServer(serverOptions);
  const url = localUrl(
    await listen(server, {
      port: config.mirrorPort,
      host: config.bindHost,
      component: 'mirror',
      portVariable: 'MIRROR_PORT',
    }),
  );
  const internal = await listenInternal(config, () => createMirrorServer(serverOptions, 'operator')).catch(
    async (error: unknown) => {
      await closeServer(server);
      store.close();
      throw error;
    },
  );

  syncLoop.start();
  const reporter = startStatusReporter({
    name: config.mirrorName || url,
    url,
    origins: config.mirrorOrigins,
    token: config.mirrorStatusToken,
    intervalMs: config.mirrorStatusIntervalMs,
    snapshot: () => sync.snapshot(store.cursor(), store.epoch()),
    freshUntil: () => trust.freshUntil(),
    logger,
  });
  logStarted(
    logger,
    'mirror',
    {
      url,
      internalUrl: internal?.url,
      origins: config.mirrorOrigins,
      cursor: store.cursor(),
      dir: config.mirrorDataDir,
    },
    'mirror started',
  );

  let closing: Promise<void> | undefined;
  return {
    name: 'mirror',
    url,
    internalUrl: internal?.url,
    cursor: () => store.cursor(),
    reportStatus: () => reporter.reportNow(),
    waitForCursor: (seq, timeoutMs) => cursorWatch.waitFor(seq, timeoutMs),
    close() {
      closing ??= (async () => {
        const stopped = syncLoop.close();
        reporter.close();
        // Aborts transfers in flight, which ends a bootstrap early.
        fetcher.close();
        await stopped;
        hub.close();
        await Promise.all([closeServer(server), internal && closeServer(internal.server)]);
        store.close();
        logger.info('mirror stopped');
      })();
      return closing;
    },
  };
}

/** The operator listener on INTERNAL_BIND_HOST:MIRROR_INTERNAL_PORT, when one is configured. */
async function listenInternal(
  config: Config,
  create: () => http.Server,
): Promise<{ server: http.Server; url: string } | undefined> {
  if (config.mirrorInternalPort === undefined) return undefined;
  const server = create();
  const address = await listen(server, {
    port: config.mirrorInternalPort,
    host: config.internalBindHost,
    component: "mirror's operator listener",
    portVariable: 'MIRROR_INTERNAL_PORT',
  });
  return { server, url: localUrl(address) };
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
