// Reads the change journal as whole batches, in sequence order.
import type { Database } from '../../common/database';
import type { FeedBatch, JournalEntry, Op, PageKind } from '../../common/feed-format';

export interface JournalReader {
  /** Complete batches with entries after `after`, up to about `maxEntries` entries (a larger single batch is returned whole). */
  batchesAfter(after: number, maxEntries?: number): Promise<FeedBatch[]>;
  head(): Promise<{ epoch: number; head: number }>;
}

export function createJournalReader(db: Database): JournalReader {
  return {
    async batchesAfter(after, maxEntries = 1000) {
      let rows = await db('journal').where('seq', '>', after).orderBy('seq').limit(maxEntries);
      if (rows.length === maxEntries) {
        // The last batch may be cut by the limit: drop it, unless it is the only one.
        const lastBatch = rows[rows.length - 1].batch;
        const complete = rows.filter((r) => r.batch !== lastBatch);
        rows = complete.length > 0 ? complete : await db('journal').where({ batch: lastBatch }).where('seq', '>', after).orderBy('seq');
      }
      const batches: FeedBatch[] = [];
      for (const row of rows) {
        const entry = toEntry(row);
        const current = batches[batches.length - 1];
        if (current && current.batch === entry.batch) current.entries.push(entry);
        else batches.push({ epoch: entry.epoch, batch: entry.batch, entries: [entry] });
      }
      return batches;
    },
    async head() {
      const row = await db('cluster_state').where({ id: 1 }).first('epoch', 'journal_head');
      return { epoch: Number(row.epoch), head: Number(row.journal_head) };
    },
  };
}

function toEntry(row: Record<string, unknown>): JournalEntry {
  return {
    seq: Number(row.seq),
    epoch: Number(row.epoch),
    batch: Number(row.batch),
    path: row.path as string,
    op: row.op as Op,
    sha256: (row.sha256 as string | null) ?? null,
    size: Number(row.size),
    contentType: row.content_type as string,
    lastModified: Number(row.last_modified),
    kind: row.kind as PageKind,
  };
}
