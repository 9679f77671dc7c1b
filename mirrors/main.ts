// Composition root of a mirror: opens the local copy, serves it, follows the
// origins' change feed from the stored cursor and applies each batch once
// every blob it needs is on disk and verified.
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../common/config';
import { followFeed, type FeedFollower } from '../common/feed-client';
import { FeedSignatureError, verifyBatch, type FeedBatch } from '../common/feed-format';
import type { RunningService } from '../common/lifecycle';
import { createLogger, type Logger } from '../common/logger';
import { createMetricsRegistry, createOps } from '../common/ops';
import { createBlobFetcher } from './blob-fetcher';
import { createFeedHub } from './feed-hub';
import { createMirrorMetrics } from './metrics';
import { MirrorStore } from './mirror-store';
import { createApplyPipeline } from './apply-pipeline';
import { bootstrapFromManifest } from './manifest-sync';
import { loadPinnedKey } from './pinned-key';
import { createProgress } from './progress';
import { createMirrorServer } from './server';
import { startStatusReporter } from './status-reporter';
import { SyncStatus } from './sync-status';

export interface RunningMirror extends RunningService {
  cursor(): number;
  /** Sends a status report to the origin now (it also happens every MIRROR_STATUS_INTERVAL_MS). */
  reportStatus(): Promise<void>;
  /** Resolves once the mirror has applied everything up to `seq`; rejects after `timeoutMs`. */
  waitForCursor(seq: number, timeoutMs: number): Promise<void>;
}

export async function startMirror(
  config: Config,
  options: { logger?: Logger; registry?: Registry; progressBar?: boolean } = {},
): Promise<RunningMirror> {
  const logger = options.logger ?? createLogger(config.logLevel, 'mirror');
  const registry = options.registry ?? createMetricsRegistry('mirror');
  // Fail fast: a mirror without a pinned key could be fed anything (DESIGN §6).
  const publicKey = loadPinnedKey(config.mirrorPublicKey);
  const store = MirrorStore.open(config.mirrorDataDir);
  const sync = new SyncStatus();
  const applied = new EventEmitter();
  applied.setMaxListeners(0);
  const metrics = createMirrorMetrics(registry, {
    cursor: () => store.cursor(),
    epoch: () => store.epoch(),
    lagSeconds: () => sync.lagSeconds(),
    lagEntries: () => Math.max(0, sync.snapshot(store.cursor(), store.epoch()).head - store.cursor()),
    connected: () => sync.isConnected(),
  });
  const fetcher = createBlobFetcher({
    store,
    sources: () => [...config.mirrorOrigins, ...config.mirrorPeers],
    logger,
    concurrency: config.mirrorFetchConcurrency,
    timeoutMs: config.mirrorFetchTimeoutMs,
    onAttemptFailed: () => metrics.blobFetchErrors.inc(),
  });
  const hub = createFeedHub({ store, logger });
  const ops = createOps(registry, {
    index: async () => {
      store.cursor();
    },
  });
  const status = () => {
    const { cursor, epoch } = store.state();
    return { ...sync.snapshot(cursor, epoch), feedClients: hub.clients() };
  };
  let bootstrapping = config.mirrorBootstrap && store.cursor() === 0;
  const server = createMirrorServer({
    store,
    hub,
    ops,
    logger,
    indexMaxAge: config.mirrorIndexMaxAge,
    status,
    serving: () => !bootstrapping,
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.mirrorPort, config.bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  let lastProgressLog = 0;
  function applyBatch(batch: FeedBatch, source: string): void {
    try {
      store.applyBatch(batch);
    } catch (error) {
      metrics.batchesRejected.inc();
      throw error;
    }
    const cursor = store.cursor();
    metrics.batchesApplied.inc();
    sync.applied(cursor);
    const { head } = sync.snapshot(cursor, batch.epoch);
    if (head > cursor) {
      // Catching up (bootstrap or after an outage): report progress, not every batch.
      logger.debug({ batch: batch.batch, cursor, source }, 'batch applied');
      if (Date.now() - lastProgressLog >= 5000) {
        lastProgressLog = Date.now();
        logger.info({ cursor, head, source }, 'catching up with the change feed');
      }
    } else {
      logger.info(
        { batch: batch.batch, epoch: batch.epoch, cursor, entries: batch.entries.length, source },
        'batch applied',
      );
    }
    hub.publish(batch);
    applied.emit('cursor', cursor);
  }

  const feedUrls = [...config.mirrorOrigins, ...config.mirrorPeers];
  const pipeline = createApplyPipeline({
    window: 64,
    fetchBlobs: async (batch, source) => {
      sync.sawHead(batch.entries[batch.entries.length - 1].seq, store.cursor(), source);
      try {
        for (const e of batch.entries) {
          if (e.inline === undefined || e.sha256 === null || store.hasBlob(e.sha256)) continue;
          // Verified against the signed sha256 like any transfer; a bad one is simply fetched instead.
          await store.writeBlob(e.sha256, [Buffer.from(e.inline, 'base64')], e.size).catch((error: unknown) => {
            metrics.blobFetchErrors.inc();
            logger.warn(
              { sha256: e.sha256, err: (error as Error).message },
              'inline body does not match its hash; fetching it',
            );
          });
        }
        await fetcher.fetchAll(store.missingBlobs(batch), source);
      } catch (error) {
        metrics.batchesRejected.inc();
        throw error;
      }
    },
    apply: applyBatch,
    appliedCursor: () => store.cursor(),
    onFailure: (error) => {
      logger.warn(
        { err: error.message, cursor: store.cursor() },
        'could not apply a batch; resuming the feed from the cursor',
      );
      sync.failed(error);
      follower?.restart(error);
    },
  });
  let follower: FeedFollower | undefined;
  let stopping = false;

  /** An empty mirror loads the origin's signed manifest rather than replaying the whole journal. */
  async function bootstrap(): Promise<void> {
    if (!config.mirrorBootstrap || store.cursor() !== 0) return;
    for (const origin of config.mirrorOrigins) {
      if (stopping) return;
      const progress = createProgress('bootstrap', logger, { tty: options.progressBar });
      try {
        const staged = await bootstrapFromManifest({ store, url: origin, publicKey, fetcher, progress, logger });
        progress.stop();
        logger.info(
          { origin, pages: staged.count, cursor: staged.cursor, epoch: staged.epoch },
          'bootstrapped from the origin manifest',
        );
        applied.emit('cursor', store.cursor());
        return;
      } catch (error) {
        progress.stop();
        if (error instanceof FeedSignatureError) metrics.signatureRejections.inc();
        sync.failed(error as Error);
        logger.warn(
          { origin, err: (error as Error).message },
          'bootstrap from manifest failed; trying the next origin',
        );
      }
    }
    if (!stopping) logger.warn('no origin served a usable manifest; replaying the change feed from the start instead');
  }

  const starting = bootstrap()
    .finally(() => {
      bootstrapping = false;
    })
    .then(() => {
      if (stopping) return;
      follower = followFeed({
        urls: feedUrls,
        after: () => store.cursor(),
        initialEpoch: store.epoch(),
        onHello: (hello, source) => {
          const cursor = store.cursor();
          if (hello.head < cursor) {
            // The origin's journal ends before what this mirror applied: a promoted replica that missed
            // entries the old primary had pushed. Those seqs may be reused; an operator must re-sync.
            logger.warn(
              { source, head: hello.head, cursor, epoch: hello.epoch },
              'origin journal head is behind the mirror cursor',
            );
          }
          sync.sawHead(hello.head, cursor, source);
        },
        verify: (batch) => {
          try {
            verifyBatch(batch, publicKey);
          } catch (error) {
            metrics.signatureRejections.inc();
            logger.error(
              { batch: batch.batch, err: (error as Error).message },
              'refused a batch: not signed by the pinned origin key',
            );
            throw error;
          }
        },
        onBatch: (batch, source) => pipeline.push(batch, source),
        onError: (error) => {
          sync.failed(error);
          metrics.feedErrors.inc();
        },
        logger,
        reconnectMs: config.mirrorReconnectMs,
        returnToFirstMs: config.mirrorPreferOriginMs,
      });
    });
  const reporter = startStatusReporter({
    name: config.mirrorName || url,
    url,
    origins: config.mirrorOrigins,
    token: config.mirrorStatusToken,
    intervalMs: config.mirrorStatusIntervalMs,
    snapshot: () => sync.snapshot(store.cursor(), store.epoch()),
    logger,
  });
  logger.info(
    { url, origins: config.mirrorOrigins, cursor: store.cursor(), dir: config.mirrorDataDir },
    'mirror started',
  );

  let closing: Promise<void> | undefined;
  return {
    name: 'mirror',
    url,
    cursor: () => store.cursor(),
    reportStatus: () => reporter.reportNow(),
    waitForCursor(seq, timeoutMs) {
      if (store.cursor() >= seq) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onCursor = (cursor: number) => {
          if (cursor < seq) return;
          clearTimeout(timer);
          applied.off('cursor', onCursor);
          resolve();
        };
        const timer = setTimeout(() => {
          applied.off('cursor', onCursor);
          reject(new Error(`mirror cursor ${store.cursor()} did not reach ${seq} within ${timeoutMs} ms`));
        }, timeoutMs);
        applied.on('cursor', onCursor);
      });
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        reporter.close();
        fetcher.close();
        await starting;
        follower?.close();
        await follower?.done;
        hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        store.close();
        logger.info('mirror stopped');
      })();
      return closing;
    },
  };
}
