// The proxy's side of the change feed: every path of every batch a mirror
// publishes is evicted at once (docs/cache-proxy.md, "Feed-driven
// eviction"); TTLs remain the safety net while the feed is cut. Each
// eviction carries the journal position of its entry, so the path is
// refilled only from a mirror that has applied it (catch-up.ts).
import type { Config } from '../common/config';
import { followFeed, type FeedFollower } from '../common/feed-client';
import type { Logger } from '../common/logger';
import type { PurgeMode } from './soft-purge';

/**
 * Evicts every path of every batch the feed delivers. On first contact (and
 * whenever the feed's head is behind what we saw, e.g. a re-bootstrapped
 * mirror) the feed cannot say what changed while we were not listening, so
 * everything cached so far goes: a 404 stored before the first hello must
 * not outlive the page's arrival.
 */
/** The second eviction after the upstream turns frozen (clock differences between proxy and mirror). */
const FREEZE_RECHECK_MS = 5000;

export function followChanges(
  config: Config,
  logger: Logger,
  sink: {
    evict(path: string, mode: PurgeMode, position: number, gone: boolean): void;
    evictAll(position?: number): void;
  },
): FeedFollower | undefined {
  if (config.proxyFeedUrl === 'off') return undefined;
  const automatic = config.proxyFeedUrl === '';
  const base = config.proxyFeedUrl || config.proxyUpstreams[0];
  let head = 0;
  let greeted = false;
  // The mirror's copy turns frozen when its newest heartbeat expires, and
  // back when a newer one arrives (docs/trust.md, "Signed freshness"): its
  // pages then change (a banner comes or goes), so what is cached goes too.
  let validUntil: number | undefined;
  let frozen = false;
  let freezeTimer: NodeJS.Timeout | undefined;
  const onFreshness = (until: number) => {
    if (validUntil !== undefined && until <= validUntil) return;
    validUntil = until;
    if (frozen) {
      frozen = false;
      logger.info('upstream copy is fresh again; evicting what was cached while it was frozen');
      sink.evictAll();
    }
    clearTimeout(freezeTimer);
    freezeTimer = setTimeout(
      () => {
        frozen = true;
        logger.warn('upstream copy is frozen (no heartbeat within its validity); evicting so pages carry the notice');
        sink.evictAll();
        // Again a little later: if this clock runs ahead of the mirror's, the first refill may
        // have come before the mirror itself turned frozen.
        freezeTimer = setTimeout(() => frozen && sink.evictAll(), FREEZE_RECHECK_MS);
        freezeTimer.unref();
      },
      Math.min(Math.max(0, until - Date.now()) + 50, 2 ** 31 - 1),
    );
    freezeTimer.unref();
  };
  const follower: FeedFollower = followFeed({
    urls: [base],
    after: () => head,
    onHello: (hello) => {
      const until = (hello.heartbeat as { validUntil?: unknown } | undefined)?.validUntil;
      if (Number.isSafeInteger(until)) onFreshness(until as number);
      if (!greeted || hello.head < head) {
        head = hello.head;
        // What the mirror we follow has applied: a behind one may still answer with what preceded it. A
        // re-bootstrapped mirror's lower head sets no floor (a higher one was set before and stays).
        sink.evictAll(Number.isSafeInteger(hello.head) ? hello.head : undefined);
      }
      greeted = true;
    },
    onHeartbeat: (raw) => {
      const until = (raw as { validUntil?: unknown } | null)?.validUntil;
      if (Number.isSafeInteger(until)) onFreshness(until as number);
      return undefined;
    },
    onBatch: async (batch) => {
      for (const entry of batch.entries) {
        // A takedown's purge entry is at /blobs/SHA (common/feed-format.ts): the cached blob goes with
        // the page, which the same batch turned into a tombstone. Only a new version of a page may be
        // soft-purged: what was unpublished, deleted or taken down is never served again, stale or not.
        const gone = entry.op !== 'put';
        sink.evict(entry.path, gone ? 'hard' : config.proxyPurgeMode, entry.seq, gone);
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
