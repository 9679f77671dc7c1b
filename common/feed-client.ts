// A long-lived client of the change feed (see feed-format.ts), shared by
// mirrors (which apply batches) and cache proxies (which evict on them).
//
// Event-driven: one streaming `GET /feed?after=SEQ` at a time, no polling
// interval. Batches are handed to onBatch one by one and the stream is not
// read further until it resolves, so a slow consumer slows the socket rather
// than buffering the feed in memory. Any failure (network, bad event, onBatch
// throwing, a stale epoch) drops the connection, rotates to the next URL and
// reconnects with capped exponential backoff, resuming from after().
import { parseFeedBatch, type FeedBatch, type FeedHello, FEED_PATH } from './feed-format';
import type { Logger } from './logger';

export interface FollowFeedOptions {
  urls: string[];
  /** The last sequence number the consumer has applied; read at every (re)connect. */
  after: () => number;
  onHello?: (hello: FeedHello, url: string) => void;
  onBatch: (batch: FeedBatch, url: string) => Promise<void>;
  /**
   * Checks a batch's authenticity before anything else looks at it (mirrors
   * pass the pinned-key check, see verifyBatch); throwing drops the
   * connection and rotates to the next URL.
   */
  verify?: (batch: FeedBatch) => void;
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

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Thrown (and logged) when a server answers with an epoch below one already seen: a deposed primary. */
export class StaleEpochError extends Error {
  readonly code = 'HS_FEED_STALE_EPOCH';
  constructor(
    readonly offered: number,
    readonly highest: number,
  ) {
    super(`feed epoch ${offered} is older than epoch ${highest} already seen`);
    this.name = 'StaleEpochError';
  }
}

/**
 * Incremental parser of a text/event-stream (WHATWG HTML §9.2.6): feed it
 * decoded text in arbitrary chunks, get complete events back. Comments
 * (`: ping`) produce no event.
 */
export function createSseParser(): { push(text: string): SseEvent[] } {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let hasData = false;
  return {
    push(text) {
      buffer += text;
      const out: SseEvent[] = [];
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        // A lone \r at the end of a chunk may be the first half of \r\n.
        if (match[0] === '\r' && match.index === buffer.length - 1) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (hasData) out.push({ event: event || 'message', id, data: data.join('\n') });
          event = '';
          data = [];
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') {
          data.push(value);
          hasData = true;
        } else if (field === 'id' && !value.includes('\0')) id = value;
      }
      return out;
    },
  };
}

function parseHello(data: string): FeedHello {
  const hello = JSON.parse(data) as FeedHello;
  if (!hello || typeof hello !== 'object' || !Number.isSafeInteger(hello.epoch) || !Number.isSafeInteger(hello.head)) {
    throw new Error('malformed hello');
  }
  return { epoch: hello.epoch, head: hello.head };
}

function lastSeq(batch: FeedBatch): number {
  return batch.entries[batch.entries.length - 1].seq;
}

export function followFeed(options: FollowFeedOptions): FeedFollower {
  const { urls, logger } = options;
  if (urls.length === 0) throw new Error('followFeed needs at least one URL');
  const reconnectMs = options.reconnectMs ?? 500;
  const maxReconnectMs = options.maxReconnectMs ?? Math.min(30_000, reconnectMs * 60);
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  // Two rules (DESIGN §4): a server whose epoch is below the highest seen is
  // a deposed primary and is refused; batches, though, carry the epoch they
  // were written in, so a promoted origin replays older epochs' history
  // first. Their epochs may only grow, and never past their server's.
  let highestEpoch = options.initialEpoch ?? Number.NEGATIVE_INFINITY;
  let batchEpoch = options.initialEpoch ?? Number.NEGATIVE_INFINITY;
  let closed = false;
  let current: AbortController | undefined;
  let currentProgress: { healthy: boolean } | undefined;
  let wake: (() => void) | undefined;

  /** Runs one connection until it fails (throws) or close() is called (returns). */
  async function connectOnce(
    url: string,
    controller: AbortController,
    progress: { healthy: boolean; returnHome?: boolean },
  ): Promise<void> {
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    };
    armIdle();
    const goHome =
      options.returnToFirstMs && url !== urls[0]
        ? setTimeout(() => {
            progress.returnHome = true;
            controller.abort(new Error('returning to the preferred source'));
          }, options.returnToFirstMs)
        : undefined;
    try {
      const after = options.after();
      const res = await fetch(`${url}${FEED_PATH}?after=${after}`, {
        headers: { accept: 'text/event-stream', 'last-event-id': String(after) },
        signal: controller.signal,
      });
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`feed answered ${res.status}`);
      }
      if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        await res.body.cancel().catch(() => undefined);
        throw new Error(`feed answered ${res.headers.get('content-type') ?? 'no content type'}, not text/event-stream`);
      }
      const parser = createSseParser();
      // Until this connection's hello arrives, no batch is acceptable.
      let serverEpoch = Number.NEGATIVE_INFINITY;
      const decoder = new TextDecoder();
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          armIdle();
          for (const event of parser.push(decoder.decode(value, { stream: true }))) {
            if (closed) return;
            if (event.event === 'hello') {
              const hello = parseHello(event.data);
              // DESIGN §4: a deposed primary that comes back cannot push stale content.
              if (hello.epoch < highestEpoch) throw new StaleEpochError(hello.epoch, highestEpoch);
              highestEpoch = hello.epoch;
              serverEpoch = hello.epoch;
              progress.healthy = true;
              options.onHello?.(hello, url);
            } else if (event.event === 'batch') {
              const batch = parseFeedBatch(JSON.parse(event.data));
              try {
                options.verify?.(batch);
              } catch (error) {
                // A forged or mangled batch on this link: back off and try the next source.
                progress.healthy = false;
                throw error;
              }
              if (batch.epoch > serverEpoch)
                throw new Error(`batch ${batch.batch} claims epoch ${batch.epoch}, beyond its server's ${serverEpoch}`);
              if (batch.epoch < batchEpoch) throw new StaleEpochError(batch.epoch, batchEpoch);
              batchEpoch = batch.epoch;
              // A replay of what is already applied (e.g. the server ignored `after`) is harmless: skip it.
              if (lastSeq(batch) <= options.after()) continue;
              clearTimeout(idle);
              try {
                await options.onBatch(batch, url);
              } catch (error) {
                // The consumer could not take this batch (e.g. a blob is unavailable everywhere):
                // back off as for a failed connection instead of retrying it at full speed.
                progress.healthy = false;
                throw error;
              }
              armIdle();
            }
          }
        }
      } finally {
        reader.cancel().catch(() => undefined);
      }
      if (!closed) throw new Error('feed stream ended');
    } finally {
      clearTimeout(idle);
      clearTimeout(goHome);
    }
  }

  async function run(): Promise<void> {
    let index = 0;
    let failures = 0;
    while (!closed) {
      const url = urls[index % urls.length];
      const controller = new AbortController();
      current = controller;
      const progress: { healthy: boolean; returnHome?: boolean } = { healthy: false };
      currentProgress = progress;
      try {
        await connectOnce(url, controller, progress);
      } catch (error) {
        if (closed) break;
        const err = error instanceof Error ? error : new Error(String(error));
        const reason =
          controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : err;
        logger.warn({ url, err: reason.message }, 'change feed connection failed');
        options.onError?.(reason, url);
      } finally {
        controller.abort();
        current = undefined;
      }
      if (closed) break;
      // A connection that was accepted and whose batches were all taken resets the backoff.
      failures = progress.healthy ? 1 : failures + 1;
      index = progress.returnHome ? 0 : index + 1;
      const base = Math.min(maxReconnectMs, reconnectMs * 2 ** Math.min(failures - 1, 30));
      const delay = Math.round(base / 2 + Math.random() * (base / 2));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  const done = run().catch((error: unknown) => {
    logger.error({ err: error }, 'change feed follower stopped unexpectedly');
  });

  return {
    done,
    epoch: () => highestEpoch,
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
