// Gets every blob a batch needs onto disk before it is applied: bodies the
// origin sent inline are written first (verified against the signed sha256
// like any transfer), the rest fetched from the origins and peers.
import type { FeedBatch } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { BlobFetcher } from './blob-fetcher';
import type { MirrorMetrics } from './metrics';
import type { MirrorStore } from './mirror-store';
import type { SyncStatus } from './sync-status';

export function createBatchBlobFetch(options: {
  store: MirrorStore;
  fetcher: BlobFetcher;
  sync: SyncStatus;
  metrics: MirrorMetrics;
  logger: Logger;
}): (batch: FeedBatch, source: string) => Promise<void> {
  const { store, fetcher, sync, metrics, logger } = options;

  return async function fetchBlobs(batch, source) {
    sync.sawHead(batch.entries[batch.entries.length - 1].seq, store.cursor(), source);
    try {
      for (const e of batch.entries) {
        if (e.sha256 === null || e.op === 'purge') continue;
        // Verified against the signed sha256 like any transfer; a bad one is simply fetched instead.
        for (const body of [{ sha256: e.sha256, size: e.size, inline: e.inline }, ...Object.values(e.variants ?? {})]) {
          if (body.inline === undefined || store.hasBlob(body.sha256)) continue;
          await store
            .writeBlob(body.sha256, [Buffer.from(body.inline, 'base64')], body.size)
            .catch((error: unknown) => {
              metrics.blobFetchErrors.inc();
              logger.warn(
                { sha256: body.sha256, err: (error as Error).message },
                'inline body does not match its hash; fetching it',
              );
            });
        }
      }
      await fetcher.fetchAll(store.missingBlobs(batch), source);
    } catch (error) {
      metrics.batchesRejected.inc();
      throw error;
    }
  };
}
