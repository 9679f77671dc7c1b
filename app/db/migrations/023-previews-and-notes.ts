// Shareable preview links and correction notes (docs/api.md, "Preview links"
// and "Corrections and updates").
//
// preview_links: an editor's link to a draft or scheduled item. Only the
// keyed hash of its token is stored (app/preview/preview-links.ts), so a
// copy of the database does not open any preview.
//
// item_notes: notes on a published item, append-only. `correction` and
// `update` notes are public (rendered on the page, they set dateModified
// and the feeds' updated time); `desk` notes are for the newsroom and never
// leave the app.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('preview_links', (t) => {
    t.increments('id').primary();
    t.string('topic', 16).notNullable();
    t.integer('item_id').notNullable();
    t.string('token_hash', 64).notNullable().unique();
    t.integer('created_by').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.integer('revoked_by').nullable();
    t.index(['topic', 'item_id'], 'preview_links_item_index');
  });
  await knex.schema.createTable('item_notes', (t) => {
    t.increments('id').primary();
    t.string('topic', 16).notNullable();
    t.integer('item_id').notNullable();
    t.string('kind', 16).notNullable();
    t.text('body').notNullable();
    t.bigInteger('noted_at').notNullable();
    t.integer('created_by').nullable();
    t.index(['topic', 'item_id', 'noted_at'], 'item_notes_item_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('item_notes');
  await knex.schema.dropTable('preview_links');
}
