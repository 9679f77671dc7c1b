// A long-lived client of the change feed (see feed-format.ts), shared by
// mirrors (which apply batches) and cache proxies (which evict on them).
//
// Event-driven: one streaming `GET /feed?after=SEQ` at a time
// (feed-connection.ts), no polling interval. Any failure (network, bad
// event, onBatch throwing, a stale epoch, feed-epochs.ts) drops the
// connection, rotates to the next URL and reconnects with capped exponential
// backoff, resuming from after().
import { runConnection, type ConnectionProgress, type FeedConsumer } from './feed-connection';
import { FeedEpochs } from './feed-epochs';
import type { Logger } from './logger';

export interface FollowFeedOptions extends FeedConsumer {
  urls: string[];
  /** Called when a connection fails, before the backoff; for status reporting. */
  onError?: (error: Error, url: string) => void;
  logger: Logger;
  /** First reconnect delay; doubles per consecutive failure. Default 500 ms. */
  reconnectMs?: number;
  /** Upper bound of the reconnect delay. Default 60 × reconnectMs, at most 30 s. */
  maxReconnectMs?: number;
  /** The origin pings every 15 s; a connection silent for this long is presumed dead. Default 45 s. */
  idleTimeoutMs?: number;
  /** Lowest acceptable epoch, e.g. the one a mirror stored before a restart. */
  initialEpoch?: number;
  /** The epoch of the last batch applied (stored with the cursor `after()` returns); see FeedEpochs.resume. */
  appliedEpoch?: () => number;
  /** The lowest acceptable server epoch, asked at every hello (see FeedEpochs). */
  epochFloor?: () => number;
  /**
   * While following any URL but the first (a fallback origin or a peer
   * mirror, which may lag), reconnect to the first after this long, so a
   * healed origin is preferred again. Default: never.
   */
  returnToFirstMs?: number;
}

export interface FeedFollower {
  close(): void;
  /** Settles once the follower has stopped after close() (no onBatch running). */
  readonly done: Promise<void>;
  /** The highest epoch seen so far. */
  epoch(): number;
  /**
   * Drops the current connection as failed (with backoff) and resumes from
   * after(): for consumers that take batches ahead of applying them and
   * later find one they cannot apply.
   */
  restart(reason: Error): void;
}

/**
 * The wait before reconnecting after `failures` consecutive failed
 * connections: doubling from `base` up to `max`, then jittered into its
 * upper half so many followers of one healed origin do not reconnect at once.
 */
export function reconnectDelay(failures: number, base: number, max: number, random = Math.random): number {
  const capped = Math.min(max, base * 2 ** Math.min(failures - 1, 30));
  return Math.round(capped / 2 + random() * (capped / 2));
}

export function followFeed(options: FollowFeedOptions): FeedFollower {
  const { urls, logger } = options;
  if (urls.length === 0) throw new Error('followFeed needs at least one URL');
  const reconnectMs = options.reconnectMs ?? 500;
  const maxReconnectMs = options.maxReconnectMs ?? Math.min(30_000, reconnectMs * 60);
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const epochs = new FeedEpochs(options.initialEpoch, options.epochFloor, options.appliedEpoch);
  let closed = false;
  let current: AbortController | undefined;
  let currentProgress: ConnectionProgress | undefined;
  let wake: (() => void) | undefined;

  /** One connection to `url`; failures are logged and reported, never thrown. */
  async function connect(url: string, progress: ConnectionProgress): Promise<void> {
    const controller = new AbortController();
    current = controller;
    currentProgress = progress;
    try {
      await runConnection(url, controller, progress, {
        consumer: options,
        epochs,
        idleTimeoutMs,
        returnHomeMs: url !== urls[0] ? options.returnToFirstMs : undefined,
        closed: () => closed,
      });
    } catch (error) {
      if (closed) return;
      const err = error instanceof Error ? error : new Error(String(error));
      const reason =
        controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : err;
      logger.warn({ url, err: reason.message }, 'change feed connection failed');
      options.onError?.(reason, url);
    } finally {
      controller.abort();
      current = undefined;
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async function run(): Promise<void> {
    let index = 0;
    let failures = 0;
    while (!closed) {
      const progress: ConnectionProgress = { healthy: false };
      await connect(urls[index % urls.length], progress);
      if (closed) break;
      // A connection that was accepted and whose batches were all taken resets the backoff.
      failures = progress.healthy ? 1 : failures + 1;
      index = progress.returnHome ? 0 : index + 1;
      await sleep(reconnectDelay(failures, reconnectMs, maxReconnectMs));
      wake = undefined;
    }
  }

  const done = run().catch((error: unknown) => {
    logger.error({ err: error }, 'change feed follower stopped unexpectedly');
  });

  return {
    done,
    epoch: () => epochs.highest(),
    restart(reason) {
      if (currentProgress) currentProgress.healthy = false;
      current?.abort(reason);
    },
    close() {
      if (closed) return;
      closed = true;
      current?.abort(new Error('closed'));
      wake?.();
    },
  };
}
