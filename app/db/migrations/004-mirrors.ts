// What each mirror last reported about itself (app/feed/mirror-status.ts),
// for `hyperstatic status` and the editor's propagation panel.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mirror_status', (t) => {
    t.string('name', 200).primary();
    t.string('url', 500).notNullable().defaultTo('');
    t.bigInteger('cursor').notNullable();
    t.integer('epoch').notNullable();
    t.bigInteger('head').notNullable();
    t.bigInteger('lag_entries').notNullable();
    t.double('lag_seconds').notNullable();
    t.boolean('connected').notNullable();
    t.string('source', 500).nullable();
    t.string('last_error', 1000).nullable();
    t.bigInteger('reported_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mirror_status');
}
