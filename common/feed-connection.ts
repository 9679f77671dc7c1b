// One connection of the change-feed follower (feed-client.ts): a streaming
// `GET /feed?after=SEQ`, read event by event. Batches are handed to onBatch
// one by one and the stream is not read further until it resolves, so a slow
// consumer slows the socket rather than buffering the feed in memory. Any
// failure throws; the follower decides where and when to reconnect.
import type { FeedEpochs } from './feed-epochs';
import { parseFeedBatch, type FeedBatch, type FeedHello, FEED_PATH } from './feed-format';
import { createSseParser } from './sse-parser';

/** What a follower's consumer is asked at each connection. */
export interface FeedConsumer {
  /** The last sequence number the consumer has applied; read at every (re)connect. */
  after: () => number;
  onHello?: (hello: FeedHello, url: string) => void;
  onBatch: (batch: FeedBatch, url: string) => Promise<void>;
  /**
   * Checks the hello's signed heartbeat (docs/trust.md) and returns the
   * epoch it proves; throwing refuses the server (drop, back off, rotate).
   * Without it the hello's own epoch is taken at its word (cache proxies,
   * which trust their one upstream).
   */
  verifyHello?: (hello: FeedHello, url: string) => number;
  /** A heartbeat event; returns the epoch it proves. Throwing drops the connection as for a bad batch. */
  onHeartbeat?: (heartbeat: unknown, url: string) => number | undefined;
  /** The server's trust statements (each checked on its own; a bad one is refused, not fatal). */
  onTrust?: (bundle: unknown, url: string) => void;
  /**
   * Checks a batch's authenticity before anything else looks at it (mirrors
   * pass the pinned-key check, see verifyBatch); throwing drops the
   * connection and rotates to the next URL.
   */
  verify?: (batch: FeedBatch) => void;
}

/** How a connection went, for the follower's backoff and choice of the next URL. */
export interface ConnectionProgress {
  /** Accepted by the server and every batch taken: the backoff starts over. */
  healthy: boolean;
  /** Ended to go back to the preferred (first) URL. */
  returnHome?: boolean;
}

export interface ConnectionContext {
  consumer: FeedConsumer;
  epochs: FeedEpochs;
  /** A connection silent for this long is presumed dead. */
  idleTimeoutMs: number;
  /** Set when this URL is not the preferred one: reconnect to that after this long. */
  returnHomeMs?: number;
  closed: () => boolean;
}

/**
 * Reads a hello. A consumer that checks the signed heartbeat (verifyHello)
 * gets whatever arrived, so a bare or forged hello is refused and counted by
 * its trust checks; its unsigned head defaults to 0. Others need the epoch
 * and head to be integers.
 */
function parseHello(data: string, checked: boolean): FeedHello {
  const hello = JSON.parse(data) as FeedHello;
  if (!hello || typeof hello !== 'object') throw new Error('malformed hello');
  if (checked)
    return {
      epoch: Number.isSafeInteger(hello.epoch) ? hello.epoch : 0,
      head: Number.isSafeInteger(hello.head) ? hello.head : 0,
      heartbeat: hello.heartbeat,
    };
  if (!Number.isSafeInteger(hello.epoch) || !Number.isSafeInteger(hello.head)) throw new Error('malformed hello');
  return { epoch: hello.epoch, head: hello.head, heartbeat: hello.heartbeat };
}

function lastSeq(batch: FeedBatch): number {
  return batch.entries[batch.entries.length - 1].seq;
}

/** Opens the event stream after `after`; throws unless the server answers 200 with text/event-stream. */
async function openFeedStream(url: string, after: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const res = await fetch(`${url}${FEED_PATH}?after=${after}`, {
    headers: { accept: 'text/event-stream', 'last-event-id': String(after) },
    signal,
  });
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`feed answered ${res.status}`);
  }
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body.cancel().catch(() => undefined);
    throw new Error(`feed answered ${res.headers.get('content-type') ?? 'no content type'}, not text/event-stream`);
  }
  return res.body;
}

/** Runs one connection until it fails (throws) or the follower is closed (returns). */
export async function runConnection(
  url: string,
  controller: AbortController,
  progress: ConnectionProgress,
  ctx: ConnectionContext,
): Promise<void> {
  const { consumer, epochs, idleTimeoutMs } = ctx;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  };
  armIdle();
  const goHome = ctx.returnHomeMs
    ? setTimeout(() => {
        progress.returnHome = true;
        controller.abort(new Error('returning to the preferred source'));
      }, ctx.returnHomeMs)
    : undefined;
  // Until this connection's hello arrives, no batch is acceptable.
  let serverEpoch = Number.NEGATIVE_INFINITY;
  // The stream starts after the consumer's cursor, whatever an earlier connection took but did not apply.
  epochs.resume();

  async function onBatchEvent(data: string): Promise<void> {
    const batch = parseFeedBatch(JSON.parse(data));
    try {
      consumer.verify?.(batch);
    } catch (error) {
      // A forged or mangled batch on this link: back off and try the next source.
      progress.healthy = false;
      throw error;
    }
    epochs.acceptBatch(batch, serverEpoch);
    // A replay of what is already applied (e.g. the server ignored `after`) is harmless: skip it.
    if (lastSeq(batch) <= consumer.after()) return;
    clearTimeout(idle);
    try {
      await consumer.onBatch(batch, url);
    } catch (error) {
      // The consumer could not take this batch (e.g. a blob is unavailable everywhere):
      // back off as for a failed connection instead of retrying it at full speed.
      progress.healthy = false;
      throw error;
    }
    armIdle();
  }

  try {
    const body = await openFeedStream(url, consumer.after(), controller.signal);
    const parser = createSseParser();
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        armIdle();
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (ctx.closed()) return;
          // Restarted mid-chunk (a revocation, a failed batch): the rest of this chunk is not read.
          if (controller.signal.aborted) throw controller.signal.reason as Error;
          if (event.event === 'hello') {
            const hello = parseHello(event.data, consumer.verifyHello !== undefined);
            const epoch = consumer.verifyHello ? consumer.verifyHello(hello, url) : hello.epoch;
            epochs.acceptServer(epoch);
            serverEpoch = epoch;
            progress.healthy = true;
            consumer.onHello?.({ ...hello, epoch }, url);
          } else if (event.event === 'batch') await onBatchEvent(event.data);
          else if (event.event === 'heartbeat' && consumer.onHeartbeat) {
            const epoch = consumer.onHeartbeat(JSON.parse(event.data), url);
            // A promotion while connected: the server's newer epoch is proven by its heartbeat.
            if (epoch !== undefined && epoch > serverEpoch && serverEpoch !== Number.NEGATIVE_INFINITY) {
              epochs.acceptServer(epoch);
              serverEpoch = epoch;
            }
          } else if (event.event === 'trust') consumer.onTrust?.(JSON.parse(event.data), url);
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
    if (!ctx.closed()) throw new Error('feed stream ended');
  } finally {
    clearTimeout(idle);
    clearTimeout(goHome);
  }
}
