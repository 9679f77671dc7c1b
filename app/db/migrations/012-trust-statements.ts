// Root-signed trust statements installed on the origin (app/feed/trust-statements.ts,
// docs/trust.md "Key ceremony"): delegations of epoch ranges to site keys and
// revocations of site keys. They replicate to the standby with every other
// row, so a statement installed on the primary is there after a promotion.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('trust_statements', (t) => {
    t.increments('id').primary();
    t.string('kind', 16).notNullable(); // 'delegation' | 'revocation'
    t.string('key_id', 44).notNullable(); // the site key the statement names
    // sha256 of the bytes the roots sign: one row per statement, however many signatures it gathers.
    t.string('statement_hash', 64).notNullable().unique();
    t.text('signed_json').notNullable();
    t.bigInteger('installed_at').notNullable();
    t.string('installed_by', 200).notNullable().defaultTo('');
    t.string('note', 500).notNullable().defaultTo('');
    t.index(['key_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('trust_statements');
}
