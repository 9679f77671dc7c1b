// Former slugs (docs/api.md, "Slugs"): a slug an item left once its URL had
// been public. Its path keeps answering with a redirect to the item's current
// page (producer/redirect-pages.ts), so links and search results made before
// the change still land; no other item of the kind may take it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('slug_redirects', (t) => {
    t.string('topic', 16).notNullable();
    t.string('slug', 120).notNullable();
    t.integer('item_id').notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['topic', 'slug']);
    t.index(['topic', 'item_id'], 'slug_redirects_item_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('slug_redirects');
}
