// Per-item revision numbers (issue 16): an article's history reads 1, 2, 3…
// instead of the site-wide row id. Existing rows are numbered in the order
// they were written; the unique (item_type, item_id, number) index is what
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
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('revisions', (t) => {
    t.dropUnique(['item_type', 'item_id', 'number'], 'revisions_item_number_unique');
  });
  await knex.schema.alterTable('revisions', (t) => {
    t.dropColumn('number');
  });
}
