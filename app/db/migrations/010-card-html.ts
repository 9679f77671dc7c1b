// Each item's listing card, rendered once when the item is rendered: a month
// archive page is then its cards joined, instead of one template call per
// item per listing (an article is on five or more listings). Null for rows
// written before this column existed; those cards are rendered when read.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('render_state', (t) => {
    t.text('card_html').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('render_state', (t) => {
    t.dropColumn('card_html');
  });
}
