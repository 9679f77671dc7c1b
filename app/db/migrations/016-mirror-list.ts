// The places where the site can be read (docs/trust.md, "The mirror list"),
// kept by `hyperstatic mirrors add|remove`. The signed list readers fetch is
// journaled as /mirrors.json; this table is what it is signed from.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mirror_list', (t) => {
    t.increments('id').primary();
    t.string('url', 500).notNullable().unique();
    t.string('kind', 16).notNullable(); // 'mirror' | 'onion' | 'static' | 'bundle'
    t.string('region', 64).notNullable().defaultTo('');
    t.string('note', 300).notNullable().defaultTo('');
    t.bigInteger('added_at').notNullable();
    t.string('added_by', 200).notNullable().defaultTo('');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mirror_list');
}
