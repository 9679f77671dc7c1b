// The outbox: the system's central invariant. A write that changes what a
// public page shows records "owes a render" rows in the SAME transaction as
// the content (docs/design.md, "Publish path"): once the caller is answered,
// the render is owed even if Redis, the producer or this process dies right
// after. The relay beside this file moves the rows into the render queue.
import type { Knex } from 'knex';
import type { RenderJob } from '../../common/queue/render-queue';

/** What a render is owed for: an item's topic (its kind) and id. */
export interface OwedRender {
  topic: RenderJob['topic'];
  itemId: number;
}

/** Rows per insert statement, well under every dialect's parameter limit. */
const CHUNK = 500;

/** Records that `items` owe a render, inside the caller's transaction `trx`. */
export async function oweRenders(trx: Knex.Transaction, items: OwedRender[], at: number): Promise<void> {
  const rows = items.map(({ topic, itemId }) => ({ topic, item_id: itemId, created_at: at }));
  for (let i = 0; i < rows.length; i += CHUNK) await trx('outbox').insert(rows.slice(i, i + CHUNK));
}
