// The order a mirror syncs in: an empty mirror first loads a manifest
// (bootstrap.ts), during which its pages answer 503; then it follows the
// change feed (feed-sync.ts) from whatever cursor that left. Closing stops
// whichever step is running and starts no further one.
import type { TrustState } from '../common/trust/trust-state';
import type { Logger } from '../common/logger';
import { createBatchApplier } from './batch-applier';
import { createBatchBlobFetch } from './batch-blobs';
import type { BlobFetcher } from './blob-fetcher';
import { bootstrapFromOrigins, shouldBootstrap } from './bootstrap';
import type { FeedHub } from './feed-hub';
import { startFeedSync, type FeedSync } from './feed-sync';
import type { MirrorMetrics } from './metrics';
import type { MirrorStore } from './mirror-store';
import type { SyncStatus } from './sync-status';

export interface SyncLoop {
  /** True until a bootstrap this loop runs has ended (whether it loaded a manifest or not). */
  bootstrapping(): boolean;
  start(): void;
  /** Stops following; resolves once the bootstrap or batch in progress has ended. */
  close(): Promise<void>;
}

export function createSyncLoop(options: {
  store: MirrorStore;
  fetcher: BlobFetcher;
  hub: FeedHub;
  sync: SyncStatus;
  metrics: MirrorMetrics;
  logger: Logger;
  trust: TrustState;
  origins: string[];
  peers: string[];
  /** MIRROR_BOOTSTRAP: an empty mirror loads a manifest before following the feed. */
  bootstrap: boolean;
  progressBar?: boolean;
  reconnectMs: number;
  returnToFirstMs: number;
  /** The cursor moved (a batch or a bootstrap was applied). */
  onApplied: (cursor: number) => void;
}): SyncLoop {
  const { store, fetcher, hub, sync, metrics, logger, trust } = options;
  let bootstrapping = shouldBootstrap(options.bootstrap, store.cursor());
  let stopping = false;
  let starting: Promise<void> = Promise.resolve();
  let feed: FeedSync | undefined;

  function followFeed(): void {
    if (stopping) return;
    feed = startFeedSync({
      store,
      urls: [...options.origins, ...options.peers],
      trust,
      hub,
      sync,
      metrics,
      logger,
      fetchBlobs: createBatchBlobFetch({ store, fetcher, sync, metrics, logger }),
      applyBatch: createBatchApplier({ store, sync, metrics, hub, logger, onApplied: options.onApplied }),
      reconnectMs: options.reconnectMs,
      returnToFirstMs: options.returnToFirstMs,
    });
  }

  return {
    bootstrapping: () => bootstrapping,
    start() {
      const bootstrap = bootstrapping
        ? bootstrapFromOrigins({
            store,
            origins: options.origins,
            trust,
            fetcher,
            sync,
            metrics,
            logger,
            progressBar: options.progressBar,
            stopping: () => stopping,
            onApplied: options.onApplied,
          })
        : Promise.resolve();
      starting = bootstrap
        .finally(() => {
          bootstrapping = false;
        })
        .then(followFeed);
    },
    async close() {
      stopping = true;
      await starting;
      await feed?.close();
    },
  };
}
