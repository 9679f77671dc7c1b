// The mirror's sync loop: follows the origins' (or peers') change feed from
// the stored cursor, checks everything that could change its state against
// its trust state (docs/trust.md: trust statements, the signed hello and
// heartbeats, every batch's signature), and hands the batches to the apply
// pipeline, which fetches blobs ahead and applies them in order. A batch
// that cannot be applied restarts the feed from the cursor.
import { followFeed, type FeedFollower } from '../common/feed-client';
import type { FeedBatch } from '../common/feed-format';
import type { TrustState } from '../common/trust/trust-state';
import type { FeedHub } from './feed-hub';
import { trustChecks } from './trust-checks';
import type { Logger } from '../common/logger';
import { createApplyPipeline } from './apply-pipeline';
import type { MirrorMetrics } from './metrics';
import type { MirrorStore } from './mirror-store';
import type { SyncStatus } from './sync-status';

/** Batches whose blobs are fetched while earlier ones are applied. */
const APPLY_WINDOW = 64;

export interface FeedSync {
  /** Stops following; resolves once no batch is being taken. */
  close(): Promise<void>;
}

export function startFeedSync(options: {
  store: MirrorStore;
  /** Origins first, then peers. */
  urls: string[];
  trust: TrustState;
  /** This mirror's own feed, which relays heartbeats and trust statements to its followers. */
  hub: FeedHub;
  sync: SyncStatus;
  metrics: MirrorMetrics;
  logger: Logger;
  fetchBlobs: (batch: FeedBatch, source: string) => Promise<void>;
  applyBatch: (batch: FeedBatch, source: string) => void;
  reconnectMs: number;
  returnToFirstMs: number;
}): FeedSync {
  const { store, trust, hub, sync, metrics, logger } = options;
  const pipeline = createApplyPipeline({
    window: APPLY_WINDOW,
    fetchBlobs: options.fetchBlobs,
    apply: options.applyBatch,
    appliedCursor: () => store.cursor(),
    onFailure: (error) => {
      logger.warn(
        { err: error.message, cursor: store.cursor() },
        'could not apply a batch; resuming the feed from the cursor',
      );
      sync.failed(error);
      // Only ever called after a batch was taken, so the follower exists by then.
      follower.restart(error);
    },
  });
  // Which source and epoch the queued batches came from: batches taken from
  // another (a deposed primary, whose sequence numbers a promoted one reuses)
  // are dropped unapplied when a connection to a different one says hello.
  let queuedFrom: { source: string; epoch: number } | undefined;
  const follower: FeedFollower = followFeed({
    urls: options.urls,
    after: () => store.cursor(),
    initialEpoch: store.epoch(),
    appliedEpoch: () => store.epoch(),
    onHello: (hello, source) => {
      if (queuedFrom && (queuedFrom.source !== source || queuedFrom.epoch !== hello.epoch)) pipeline.dropQueued();
      queuedFrom = { source, epoch: hello.epoch };
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
    ...trustChecks({
      trust,
      hub,
      metrics,
      logger,
      restart: (reason) => follower.restart(reason),
      onRevoked: (key) => {
        // Batches the key signed before its revocation arrived stay applied; if it pushed the copy
        // past any epoch a trusted key vouches for, its content cannot be told from the real one.
        const epoch = store.highestEpochSignedBy(key);
        if (epoch === undefined || epoch <= trust.highestEpoch()) return;
        const error = new Error(
          `this copy holds batches up to epoch ${epoch} signed by a key now revoked; re-sync it from a trusted origin (docs/trust.md, "Revoking a seized site key")`,
        );
        logger.error({ key, epoch }, error.message);
        sync.failed(error);
      },
    }),
    onBatch: (batch, source) => pipeline.push(batch, source),
    onError: (error) => {
      sync.failed(error);
      metrics.feedErrors.inc();
    },
    logger,
    reconnectMs: options.reconnectMs,
    returnToFirstMs: options.returnToFirstMs,
  });
  return {
    async close() {
      follower.close();
      await follower.done;
      // The pipeline applies batches taken ahead on its own: it must stop before the store closes.
      await pipeline.close();
    },
  };
}
