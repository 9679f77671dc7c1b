// Reads the change journal as whole batches, in sequence order.
import { CODINGS, variantsOfRow } from '../../common/content-coding';
import type { Database } from '../../common/db/database';
import { INLINE_MAX_BYTES, type FeedBatch, type JournalEntry, type Op, type PageKind } from '../../common/feed-format';

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
        rows =
          complete.length > 0
            ? complete
            : await db('journal').where({ batch: lastBatch }).where('seq', '>', after).orderBy('seq');
      }
      // Small bodies ride along (one query for the whole read), so a mirror far away
      // does not pay a round trip per page before it can apply the batch.
      // The page's compressed variants too (smaller still): a mirror then has every encoding with the batch.
      const small = [
        ...new Set(
          rows.flatMap((r) =>
            r.op === 'purge'
              ? []
              : [
                  ...(r.sha256 && Number(r.size) <= INLINE_MAX_BYTES ? [r.sha256 as string] : []),
                  ...CODINGS.flatMap((c) =>
                    r[`${c}_sha256`] && Number(r[`${c}_size`]) <= INLINE_MAX_BYTES ? [r[`${c}_sha256`] as string] : [],
                  ),
                ],
          ),
        ),
      ];
      const bodies = new Map<string, string>();
      for (let i = 0; i < small.length; i += 500) {
        for (const b of await db('blobs')
          .whereIn('sha256', small.slice(i, i + 500))
          .select('sha256', 'body')) {
          bodies.set(b.sha256 as string, Buffer.from(b.body as Buffer).toString('base64'));
        }
      }
      const batches: FeedBatch[] = [];
      for (const row of rows) {
        const entry = toEntry(row);
        // A purge names the blob it drops: it never carries it (nor does anything once purged, see producer/takedown.ts).
        const inline = entry.sha256 && entry.op !== 'purge' ? bodies.get(entry.sha256) : undefined;
        if (inline !== undefined) entry.inline = inline;
        if (entry.op === 'put' || entry.op === 'gone') {
          const variants = variantsOfRow(row);
          for (const variant of Object.values(variants ?? {})) {
            const body = bodies.get(variant.sha256);
            if (body !== undefined) variant.inline = body;
          }
          if (variants) entry.variants = variants;
        }
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
