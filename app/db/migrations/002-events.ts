// Events (a calendar of happenings) with tags, published like articles.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('events', (t) => {
    t.increments('id').primary();
    t.string('slug', 120).notNullable().unique();
    t.string('title', 300).notNullable();
    t.string('summary', 1000).notNullable().defaultTo('');
    t.text('body', 'mediumtext').notNullable();
    t.string('location', 300).notNullable().defaultTo('');
    t.bigInteger('starts_at').notNullable();
    t.bigInteger('ends_at').nullable();
    t.integer('author_id').unsigned().nullable().references('id').inTable('users');
    t.string('status', 16).notNullable();
    t.boolean('featured').notNullable().defaultTo(false);
    t.bigInteger('published_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['status', 'starts_at']);
  });
  await knex.schema.createTable('event_tags', (t) => {
    t.integer('event_id').unsigned().notNullable().references('id').inTable('events').onDelete('CASCADE');
    t.integer('tag_id').unsigned().notNullable().references('id').inTable('tags');
    t.primary(['event_id', 'tag_id']);
    t.index(['tag_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('event_tags');
  await knex.schema.dropTableIfExists('events');
}
