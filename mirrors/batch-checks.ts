// Pure checks on a feed batch before it may touch the index: does it follow
// what is applied, and which blobs must be on disk first.
import { CODINGS, decodesTo, type Variants } from '../common/content-coding';
import type { FeedBatch, JournalEntry } from '../common/feed-format';
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

/**
 * The distinct blobs a batch needs: every put and gone entry names one, and
 * one per compressed variant (a purge names the one it drops, needing none).
 */
export function blobsOf(batch: FeedBatch): { sha256: string; size: number }[] {
  const seen = new Map<string, number>();
  for (const e of batch.entries) {
    if (e.sha256 === null || e.op === 'purge') continue;
    if (!seen.has(e.sha256)) seen.set(e.sha256, e.size);
    for (const v of Object.values(e.variants ?? {})) if (!seen.has(v.sha256)) seen.set(v.sha256, v.size);
  }
  return [...seen].map(([sha256, size]) => ({ sha256, size }));
}

/**
 * Keeps each entry's variants that decode to the entry's signed sha256 and
 * size (variants are not signed; docs/trust.md, "Compressed variants"), so
 * a forged one is never served or relayed: the page is served as it is
 * instead. `read` gives a blob's bytes, or undefined when it is not on disk.
 */
export function checkVariants(
  batch: FeedBatch,
  read: (sha256: string) => Buffer | undefined,
): { applied: FeedBatch; dropped: string[] } {
  if (!batch.entries.some((e) => e.variants)) return { applied: batch, dropped: [] };
  const dropped: string[] = [];
  const entries = batch.entries.map((e): JournalEntry => {
    if (!e.variants) return e;
    const { variants, ...entry } = e;
    const kept: Variants = {};
    for (const coding of CODINGS) {
      const variant = variants[coding];
      if (!variant || entry.sha256 === null) continue;
      const bytes = read(variant.sha256);
      if (bytes && bytes.length === variant.size && decodesTo(coding, bytes, entry.sha256, entry.size))
        kept[coding] = variant;
      else dropped.push(`${entry.path} (${coding} ${variant.sha256})`);
    }
    return Object.keys(kept).length > 0 ? { ...entry, variants: kept } : entry;
  });
  return { applied: { ...batch, entries }, dropped };
}
