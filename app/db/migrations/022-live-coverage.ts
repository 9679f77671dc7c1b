// Live coverage (docs/api.md, "Live coverage"): an article marked `live`
// carries timestamped entries, added, edited and deleted one by one. Each
// entry keeps the number it was given (`seq`, per article, never reused), so
// the page of older entries that holds it (/news/SLUG/N, producer/live-pages.ts)
// does not shift when later entries arrive or earlier ones are deleted.
// `live_updated_at` is the last entry change: the article's dateModified
// and its `updated` time in feeds.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('articles', (t) => {
    t.boolean('live').notNullable().defaultTo(false);
    t.bigInteger('live_updated_at').nullable();
    /** The highest entry number given so far: the next entry takes one more. */
    t.integer('live_seq').unsigned().notNullable().defaultTo(0);
  });
  await knex.schema.createTable('live_entries', (t) => {
    t.bigIncrements('id').primary();
    t.integer('article_id').unsigned().notNullable().references('id').inTable('articles').onDelete('CASCADE');
    t.integer('seq').unsigned().notNullable();
    /** Sanitized on save (app/content/sanitize.ts), like article bodies. */
    t.text('body', 'mediumtext').notNullable();
    t.bigInteger('posted_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['article_id', 'seq'], { indexName: 'live_entries_article_seq' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('live_entries');
  await knex.schema.alterTable('articles', (t) => {
    t.dropColumn('live_seq');
    t.dropColumn('live_updated_at');
    t.dropColumn('live');
  });
}
