// The initial schema. Times are integers (ms since the epoch) so MariaDB and
// SQLite store and compare them identically.
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

// A migration is a list of tables read top to bottom, and is never edited
// once released: splitting it would only scatter the schema.
// eslint-disable-next-line max-lines-per-function
export async function up(knex: Knex): Promise<void> {
  const mysql = dialectOf(knex) === 'mysql';
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    t.string('name', 64).notNullable().unique();
    t.string('role', 16).notNullable();
    t.string('password_hash', 255).nullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    // Only the sha256 of a token is kept; the token itself is shown once.
    t.string('token_hash', 64).notNullable().unique();
    t.string('label', 100).notNullable().defaultTo('');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_used_at').nullable();
    t.bigInteger('revoked_at').nullable();
  });

  await knex.schema.createTable('sections', (t) => {
    t.increments('id').primary();
    t.string('slug', 64).notNullable().unique();
    t.string('name', 100).notNullable();
  });

  await knex.schema.createTable('tags', (t) => {
    t.increments('id').primary();
    t.string('slug', 64).notNullable().unique();
    t.string('name', 64).notNullable();
  });

  await knex.schema.createTable('articles', (t) => {
    t.increments('id').primary();
    t.string('slug', 120).notNullable().unique();
    t.string('title', 300).notNullable();
    t.string('summary', 1000).notNullable().defaultTo('');
    t.text('body', 'mediumtext').notNullable();
    t.integer('section_id').unsigned().nullable().references('id').inTable('sections');
    t.integer('author_id').unsigned().nullable().references('id').inTable('users');
    t.string('status', 16).notNullable();
    t.boolean('featured').notNullable().defaultTo(false);
    t.bigInteger('published_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['status', 'published_at']);
  });

  await knex.schema.createTable('article_tags', (t) => {
    t.integer('article_id').unsigned().notNullable().references('id').inTable('articles').onDelete('CASCADE');
    t.integer('tag_id').unsigned().notNullable().references('id').inTable('tags');
    t.primary(['article_id', 'tag_id']);
    t.index(['tag_id']);
  });

  // Transactional outbox: written in the same transaction as the content, so
  // an acknowledged save always has a pending render (docs/design.md, "Publish path").
  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    t.string('topic', 32).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('dispatched_at').nullable();
    t.bigInteger('done_at').nullable();
    t.index(['done_at', 'dispatched_at']);
    t.index(['topic', 'item_id']);
  });

  // Content-addressed bodies of rendered pages; they live in the database so
  // they replicate with the journal that names them.
  await knex.schema.createTable('blobs', (t) => {
    t.string('sha256', 64).primary();
    t.integer('size').unsigned().notNullable();
    if (mysql) t.specificType('body', 'longblob').notNullable();
    else t.binary('body').notNullable();
    t.bigInteger('created_at').notNullable();
  });

  // What the public site currently is: path -> body hash.
  await knex.schema.createTable('pages', (t) => {
    t.string('path', 512).primary();
    t.string('op', 8).notNullable();
    t.string('sha256', 64).nullable();
    t.integer('size').unsigned().notNullable();
    t.string('content_type', 100).notNullable();
    t.string('kind', 16).notNullable();
    t.bigInteger('last_modified').notNullable();
    t.bigInteger('seq').notNullable();
  });

  // The change journal mirrors follow. Sequence numbers are assigned under a
  // row lock on cluster_state, so commit order equals sequence order and a
  // follower reading "after N" never skips a late-committing entry.
  await knex.schema.createTable('journal', (t) => {
    t.bigInteger('seq').primary();
    t.integer('epoch').notNullable();
    t.bigInteger('batch').notNullable();
    t.string('path', 512).notNullable();
    t.string('op', 8).notNullable();
    t.string('sha256', 64).nullable();
    t.integer('size').unsigned().notNullable();
    t.string('content_type', 100).notNullable();
    t.string('kind', 16).notNullable();
    t.bigInteger('last_modified').notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('cluster_state', (t) => {
    t.integer('id').primary();
    t.integer('epoch').notNullable();
    t.bigInteger('journal_head').notNullable();
  });
  await knex('cluster_state').insert({ id: 1, epoch: 1, journal_head: 0 });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'cluster_state',
    'journal',
    'pages',
    'blobs',
    'outbox',
    'article_tags',
    'articles',
    'tags',
    'sections',
    'api_tokens',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
