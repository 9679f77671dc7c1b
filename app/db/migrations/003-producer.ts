// The producer's own derived state: what it last rendered for each item (the
// "before" of the dependency model, and the version an older render must not
// overwrite), the listing index every index page is read from (so a page
// costs O(its items), never O(site)), per-bucket counts (months, sitemap
// shards) and the progress of a resumable full rebuild.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('render_state', (t) => {
    t.string('topic', 16).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.text('state').notNullable();
    /** Highest outbox id (or rebuild run) this render covers. */
    t.bigInteger('version').notNullable();
    t.bigInteger('rendered_at').notNullable();
    t.primary(['topic', 'item_id']);
  });

  // One row per (listing, item): 'all', 'section:x', 'tag:y', 'events',
  // 'featured', 'sitemap:article'… Bucket is a month (YYYY-MM) or a sitemap shard.
  await knex.schema.createTable('index_entries', (t) => {
    t.string('index_key', 100).notNullable();
    t.string('bucket', 16).notNullable();
    t.bigInteger('sort_at').notNullable();
    t.string('topic', 16).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.primary(['index_key', 'sort_at', 'topic', 'item_id']);
    t.index(['index_key', 'bucket', 'sort_at'], 'index_entries_bucket');
    t.index(['topic', 'item_id'], 'index_entries_item');
  });

  await knex.schema.createTable('index_buckets', (t) => {
    t.string('index_key', 100).notNullable();
    t.string('bucket', 16).notNullable();
    t.integer('items').unsigned().notNullable();
    t.primary(['index_key', 'bucket']);
  });

  await knex.schema.createTable('rebuild_state', (t) => {
    t.integer('id').primary();
    t.string('phase', 16).notNullable();
    t.string('cursor', 200).notNullable().defaultTo('');
    t.bigInteger('pages').notNullable().defaultTo(0);
    t.bigInteger('written').notNullable().defaultTo(0);
    t.bigInteger('started_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  // Template or data errors: reported here (and in metrics), never retried.
  await knex.schema.createTable('render_failures', (t) => {
    t.bigIncrements('id').primary();
    t.string('topic', 16).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.string('message', 2000).notNullable();
    t.bigInteger('failed_at').notNullable();
    t.index(['topic', 'item_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['render_failures', 'rebuild_state', 'index_buckets', 'index_entries', 'render_state']) {
    await knex.schema.dropTableIfExists(table);
  }
}
