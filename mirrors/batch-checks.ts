// Pure checks on a feed batch before it may touch the index: does it follow
// what is applied, and which blobs must be on disk first.
import type { FeedBatch } from '../common/feed-format';
import { OutOfOrderBatchError, StaleEpochBatchError } from './errors';

/** Why a batch cannot follow the stored state, or undefined if it can. Pure. */
export function batchRefusal(batch: FeedBatch, cursor: number, epoch: number): Error | undefined {
  if (batch.epoch < epoch) return new StaleEpochBatchError(batch.epoch, epoch);
  const first = batch.entries[0].seq;
  // The journal has no gaps (seqs are assigned under one row lock), so anything
  // but cursor + 1 is a replay, a reordering or a batch dropped on the way.
  if (first !== cursor + 1) return new OutOfOrderBatchError(first, cursor);
  return undefined;
}

/** The distinct blobs a batch needs (every put and gone entry names one; a purge names the one it drops). */
export function blobsOf(batch: FeedBatch): { sha256: string; size: number }[] {
  const seen = new Map<string, number>();
  for (const e of batch.entries)
    if (e.sha256 !== null && e.op !== 'purge' && !seen.has(e.sha256)) seen.set(e.sha256, e.size);
  return [...seen].map(([sha256, size]) => ({ sha256, size }));
}
