// Per-mirror credentials for status reports (app/feed/mirror-credentials.ts):
// each mirror reports under its own name with its own token, stored hashed.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mirror_credentials', (t) => {
    t.string('name', 200).primary();
    t.string('token_hash', 64).notNullable().unique();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mirror_credentials');
}
