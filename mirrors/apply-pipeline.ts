// Takes batches from the feed ahead of applying them: the blobs of the next
// `window` batches are fetched at once while earlier batches are applied, in
// order. Over a long link this turns one round trip per batch into one round
// trip per window, without loosening the apply order (docs/mirrors.md,
// "Applying batches").
import type { FeedBatch } from '../common/feed-format';
import { OutOfOrderBatchError } from './errors';

export interface ApplyPipeline {
  /** Queues a batch and starts fetching its blobs; resolves once there is room for another. */
  push(batch: FeedBatch, source: string): Promise<void>;
  /** Batches taken but not applied yet. */
  pending(): number;
  /** Drops what is queued but not applied; the feed resumes from appliedCursor(). */
  dropQueued(): void;
  /** Drops what is queued and resolves once no batch is being applied: the store may then be closed. */
  close(): Promise<void>;
}

interface Item {
  batch: FeedBatch;
  source: string;
  ready: Promise<void>;
}

const lastSeq = (b: FeedBatch) => b.entries[b.entries.length - 1].seq;

export function createApplyPipeline(options: {
  window: number;
  /** Fetches and verifies every blob the batch needs. */
  fetchBlobs: (batch: FeedBatch, source: string) => Promise<void>;
  /** Applies a batch whose blobs are on disk (throws to refuse it). */
  apply: (batch: FeedBatch, source: string) => void;
  appliedCursor: () => number;
  /** A queued batch could not be applied: the queue is dropped; the feed must resume from appliedCursor(). */
  onFailure: (error: Error) => void;
}): ApplyPipeline {
  let queue: Item[] = [];
  let lastQueued = options.appliedCursor();
  let draining = false;
  let closed = false;
  // Settles when the drain loop under way (if any) has stopped.
  let idle: Promise<void> = Promise.resolve();
  let roomWaiters: (() => void)[] = [];

  const wakeRoom = () => {
    const waiters = roomWaiters;
    roomWaiters = [];
    for (const w of waiters) w();
  };

  async function drain(): Promise<void> {
    if (draining || closed) return;
    draining = true;
    let stopped: () => void = () => undefined;
    idle = new Promise<void>((resolve) => (stopped = resolve));
    try {
      while (queue.length > 0 && !closed) {
        const head = queue[0];
        try {
          await head.ready;
          if (closed) break;
          if (queue[0] !== head) continue;
          options.apply(head.batch, head.source);
          queue.shift();
        } catch (error) {
          if (queue[0] !== head) continue;
          queue = [];
          lastQueued = options.appliedCursor();
          options.onFailure(error instanceof Error ? error : new Error(String(error)));
        }
        wakeRoom();
      }
    } finally {
      draining = false;
      wakeRoom();
      stopped();
    }
  }

  return {
    async push(batch, source) {
      // Stopping: the follower is closed too, and nothing more may touch the store.
      if (closed) return;
      // Idle: the applied cursor is the truth (a bootstrap or a repair may have moved it).
      if (queue.length === 0 && !draining) lastQueued = options.appliedCursor();
      const first = batch.entries[0].seq;
      // Already queued (a reconnect resent it): nothing to do.
      if (lastSeq(batch) <= lastQueued) return;
      if (first !== lastQueued + 1) throw new OutOfOrderBatchError(first, lastQueued);
      const ready = options.fetchBlobs(batch, source);
      ready.catch(() => undefined);
      queue.push({ batch, source, ready });
      lastQueued = lastSeq(batch);
      void drain();
      while (queue.length >= options.window && !closed) await new Promise<void>((resolve) => roomWaiters.push(resolve));
    },
    pending: () => queue.length,
    dropQueued() {
      queue = [];
      lastQueued = options.appliedCursor();
      wakeRoom();
    },
    close() {
      closed = true;
      queue = [];
      wakeRoom();
      return idle;
    },
  };
}
