// An empty mirror loads an origin's signed manifest (manifest-sync.ts) rather
// than replaying the whole journal; the first origin that serves a usable one
// wins, and if none does the feed replays from seq 0 instead.
import type { TrustState } from '../common/trust/trust-state';
import { FeedSignatureError } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { BlobFetcher } from './blob-fetcher';
import { bootstrapFromManifest } from './manifest-sync';
import type { MirrorMetrics } from './metrics';
import type { MirrorStore } from './mirror-store';
import { createProgress } from './progress';
import type { SyncStatus } from './sync-status';

/** Only a mirror that has applied nothing bootstraps (MIRROR_BOOTSTRAP): a manifest never rewinds a copy. */
export function shouldBootstrap(enabled: boolean, cursor: number): boolean {
  return enabled && cursor === 0;
}

/** Tries each origin's manifest in turn; a failure is logged and counted, never thrown. */
export async function bootstrapFromOrigins(options: {
  store: MirrorStore;
  origins: string[];
  trust: TrustState;
  fetcher: BlobFetcher;
  sync: SyncStatus;
  metrics: MirrorMetrics;
  logger: Logger;
  progressBar?: boolean;
  /** True once the mirror is closing: no further origin is tried. */
  stopping: () => boolean;
  onApplied: (cursor: number) => void;
}): Promise<void> {
  const { store, trust, fetcher, sync, metrics, logger } = options;
  for (const origin of options.origins) {
    if (options.stopping()) return;
    const progress = createProgress('bootstrap', logger, { tty: options.progressBar });
    try {
      const staged = await bootstrapFromManifest({ store, url: origin, trust, fetcher, progress, logger });
      progress.stop();
      logger.info(
        { origin, pages: staged.count, cursor: staged.cursor, epoch: staged.epoch },
        'bootstrapped from the origin manifest',
      );
      options.onApplied(store.cursor());
      return;
    } catch (error) {
      progress.stop();
      if (error instanceof FeedSignatureError) metrics.signatureRejections.inc();
      sync.failed(error as Error);
      logger.warn({ origin, err: (error as Error).message }, 'bootstrap from manifest failed; trying the next origin');
    }
  }
  if (!options.stopping())
    logger.warn('no origin served a usable manifest; replaying the change feed from the start instead');
}
