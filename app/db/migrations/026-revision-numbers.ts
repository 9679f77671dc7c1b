// Per-item revision numbers (issue 16): an article's history reads 1, 2, 3…
// instead of the site-wide row id. Existing rows are numbered in the order
// they were written, and an old 'edit' that changed the status is renamed
// for what it did (published, hidden…); the unique (item_type, item_id, number) index is what
// keeps two concurrent saves of one item from taking the same number (the
// writer also holds the item's row lock, app/content/item-revisions.ts).
// The column stays nullable: SQLite cannot make a column NOT NULL without
// rebuilding the table, and every insert sets it.
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

const NUMBERED = `SELECT id, ROW_NUMBER() OVER (PARTITION BY item_type, item_id ORDER BY id) AS n FROM revisions`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('revisions', (t) => {
    t.integer('number').unsigned().nullable();
  });
  // Both dialects number with a window function (MariaDB 10.2+, SQLite 3.25+); the derived table is read before the update writes.
  if (dialectOf(knex) === 'mysql')
    await knex.raw(`UPDATE revisions r JOIN (${NUMBERED}) x ON x.id = r.id SET r.number = x.n`);
  else await knex.raw(`UPDATE revisions SET number = x.n FROM (${NUMBERED}) AS x WHERE x.id = revisions.id`);
  await knex.schema.alterTable('revisions', (t) => {
    t.unique(['item_type', 'item_id', 'number'], { indexName: 'revisions_item_number_unique' });
  });
  await renameStatusChanges(knex);
}

const BATCH = 500;

/**
 * Saves recorded as 'edit' that changed the status are renamed for what
 * they did, as new saves are (savedAction in app/content/item-revisions.ts):
 * before, publishing from the edit form read "edit" in the history. Read in
 * id order, a batch at a time, remembering each item's last status.
 */
async function renameStatusChanges(knex: Knex): Promise<void> {
  const lastStatus = new Map<string, string>();
  const renamed: Record<string, number[]> = { publish: [], hide: [], unhide: [], unpublish: [] };
  for (let after = 0; ;) {
    const rows = await knex('revisions')
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .select('id', 'item_type', 'item_id', 'action', 'snapshot');
    if (rows.length === 0) break;
    for (const row of rows) {
      after = Number(row.id);
      if (row.action === 'autosave') continue;
      const item = `${row.item_type}:${row.item_id}`;
      let status: unknown;
      try {
        status = (JSON.parse(String(row.snapshot)) as { status?: unknown }).status;
      } catch {
        continue; // A hand-edited snapshot: left as it is.
      }
      if (typeof status !== 'string') continue;
      const before = lastStatus.get(item);
      lastStatus.set(item, status);
      if (row.action !== 'edit' || before === undefined || before === status) continue;
      const action =
        status === 'published'
          ? 'publish'
          : status === 'hidden'
            ? 'hide'
            : before === 'hidden'
              ? 'unhide'
              : 'unpublish';
      renamed[action].push(after);
    }
  }
  for (const [action, ids] of Object.entries(renamed))
    for (let i = 0; i < ids.length; i += BATCH)
      await knex('revisions')
        .whereIn('id', ids.slice(i, i + BATCH))
        .update({ action });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('revisions', (t) => {
    t.dropUnique(['item_type', 'item_id', 'number'], 'revisions_item_number_unique');
  });
  await knex.schema.alterTable('revisions', (t) => {
    t.dropColumn('number');
  });
}
