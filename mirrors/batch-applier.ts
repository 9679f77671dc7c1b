// The last step of following the feed: a batch whose blobs are all on disk
// is applied to the index, counted, logged, and relayed to this mirror's own
// feed clients (docs/mirrors.md, "Applying batches").
import type { FeedBatch } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { FeedHub } from './feed-hub';
import type { MirrorMetrics } from './metrics';
import type { MirrorStore } from './mirror-store';
import type { SyncStatus } from './sync-status';

/** While catching up, a progress line at most this often instead of a line per batch. */
const PROGRESS_LOG_MS = 5000;

export function createBatchApplier(options: {
  store: MirrorStore;
  sync: SyncStatus;
  metrics: MirrorMetrics;
  hub: FeedHub;
  logger: Logger;
  /** The cursor moved to `cursor`. */
  onApplied: (cursor: number) => void;
  now?: () => number;
}): (batch: FeedBatch, source: string) => void {
  const { store, sync, metrics, hub, logger } = options;
  const now = options.now ?? Date.now;
  let lastProgressLog = 0;

  return function applyBatch(received, source) {
    let batch: FeedBatch;
    try {
      const { applied, dropped } = store.applyBatch(received);
      batch = applied;
      if (dropped.length > 0)
        logger.warn(
          { batch: batch.batch, source, dropped },
          'compressed variants that do not decode to their page: dropped',
        );
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
      if (now() - lastProgressLog >= PROGRESS_LOG_MS) {
        lastProgressLog = now();
        logger.info({ cursor, head, source }, 'catching up with the change feed');
      }
    } else {
      logger.info(
        { batch: batch.batch, epoch: batch.epoch, cursor, entries: batch.entries.length, source },
        'batch applied',
      );
    }
    hub.publish(batch);
    options.onApplied(cursor);
  };
}
