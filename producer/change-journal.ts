// Storing rendered pages: content-addressed blobs, the pages table and the
// change journal, in one transaction per batch. A page whose bytes hash the
// same as what is live costs nothing: no blob write, no journal entry.
import type { Knex } from 'knex';
import type { Database } from '../common/database';
import type { Op, PageKind } from '../common/feed-format';
import { sha256Hex } from '../common/hash';

export interface RenderedPage {
  path: string;
  kind: PageKind;
  op: Op;
  /** Absent for op=delete. */
  body?: Buffer;
  contentType: string;
  lastModified: number;
}

export interface BatchResult {
  /** Journal head after the batch; undefined when nothing changed. */
  head?: number;
  written: string[];
  unchanged: string[];
}

/** Content (articles, media) before the indexes and feeds that link to it. */
const KIND_ORDER: Record<PageKind, number> = { media: 0, article: 1, index: 2, feed: 3 };

export async function writeBatch(
  db: Database,
  pages: RenderedPage[],
  options: { now: number; inTransaction?: (trx: Knex.Transaction) => Promise<void> },
): Promise<BatchResult> {
  const ordered = [...pages].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  return db.transaction(async (trx) => {
    // The row lock serializes journal appends across producers, so sequence
    // order is commit order and a follower never skips a late commit.
    const state = await trx('cluster_state').where({ id: 1 }).forUpdate().first('epoch', 'journal_head');
    const epoch = Number(state.epoch);
    let head = Number(state.journal_head);
    const batch = head + 1;
    const paths = ordered.map((p) => p.path);
    const live = new Map<string, { op: string; sha256: string | null }>();
    if (paths.length > 0) {
      for (const row of await trx('pages').whereIn('path', paths).select('path', 'op', 'sha256')) live.set(row.path as string, row);
    }
    const written: string[] = [];
    const unchanged: string[] = [];
    for (const page of ordered) {
      const sha256 = page.body ? sha256Hex(page.body) : null;
      const current = live.get(page.path);
      if (page.op === 'delete' ? !current || current.op === 'delete' : current && current.op === page.op && current.sha256 === sha256) {
        unchanged.push(page.path);
        continue;
      }
      if (page.body && sha256) {
        await trx('blobs').insert({ sha256, size: page.body.length, body: page.body, created_at: options.now }).onConflict('sha256').ignore();
      }
      head += 1;
      const size = page.body?.length ?? 0;
      await trx('pages')
        .insert({ path: page.path, op: page.op, sha256, size, content_type: page.contentType, kind: page.kind, last_modified: page.lastModified, seq: head })
        .onConflict('path')
        .merge();
      await trx('journal').insert({
        seq: head, epoch, batch, path: page.path, op: page.op, sha256, size,
        content_type: page.contentType, kind: page.kind, last_modified: page.lastModified, created_at: options.now,
      });
      written.push(page.path);
    }
    if (written.length > 0) await trx('cluster_state').where({ id: 1 }).update({ journal_head: head });
    await options.inTransaction?.(trx);
    return { head: written.length > 0 ? head : undefined, written, unchanged };
  });
}
