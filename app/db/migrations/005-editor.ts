// The newsroom app: database sessions (any app instance serves any editor),
// login attempts for rate limiting, revision history, media, site settings
// and open-publishing submissions.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sessions', (t) => {
    // Only the sha256 of the cookie value is kept, like API tokens.
    t.string('id', 64).primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('csrf_token', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['user_id']);
  });

  await knex.schema.createTable('login_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.string('account', 64).notNullable();
    t.string('address', 64).notNullable();
    t.boolean('succeeded').notNullable();
    t.bigInteger('at').notNullable();
    t.index(['account', 'at']);
    t.index(['address', 'at']);
  });

  await knex.schema.createTable('revisions', (t) => {
    t.bigIncrements('id').primary();
    t.string('item_type', 16).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.integer('user_id').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL');
    t.string('action', 32).notNullable();
    t.string('reason', 500).notNullable().defaultTo('');
    t.text('snapshot', 'mediumtext').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['item_type', 'item_id', 'id']);
  });

  await knex.schema.createTable('media', (t) => {
    t.string('sha256', 64).primary();
    t.string('kind', 8).notNullable();
    t.string('content_type', 100).notNullable();
    t.string('path', 200).notNullable();
    t.bigInteger('size').unsigned().notNullable();
    t.string('original_name', 255).notNullable().defaultTo('');
    t.integer('width').unsigned().nullable();
    t.integer('height').unsigned().nullable();
    t.string('rendition_path', 200).nullable();
    t.integer('uploaded_by').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL');
    t.bigInteger('created_at').notNullable();
    t.index(['created_at']);
  });

  await knex.schema.createTable('settings', (t) => {
    t.string('name', 64).primary();
    t.string('value', 1000).notNullable();
  });

  await knex.schema.createTable('submissions', (t) => {
    t.bigIncrements('id').primary();
    t.string('item_type', 16).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.string('state', 16).notNullable();
    // sha256 of the submitter's address: enough to rate limit, not a log of who wrote what.
    t.string('address_hash', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['state', 'id']);
    t.index(['address_hash', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['submissions', 'settings', 'media', 'revisions', 'login_attempts', 'sessions']) {
    await knex.schema.dropTableIfExists(table);
  }
}
