// Failover: the topology record (which node is primary, at which epoch) and
// idempotency keys, so a save retried across a failover is not duplicated
// (docs/design.md, "Replication and failover"). Both are ordinary tables: they replicate with the content.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One row (id = 1), written on the new primary by `hyperstatic db promote`.
  // No row yet means no promotion ever happened: the first configured node is primary.
  await knex.schema.createTable('db_topology', (t) => {
    t.integer('id').primary();
    t.string('primary_node', 64).notNullable();
    t.integer('epoch').notNullable();
    t.string('promoted_at_gtid', 1000).notNullable().defaultTo('');
    t.bigInteger('updated_at').notNullable();
  });

  // Written in the same transaction as the save it answers, so "key seen"
  // and "save committed" can never disagree, even across a failover.
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.integer('user_id').notNullable();
    t.string('idem_key', 100).notNullable();
    t.string('request_hash', 64).notNullable();
    t.integer('status').notNullable();
    t.text('response', 'mediumtext').notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['user_id', 'idem_key']);
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('idempotency_keys');
  await knex.schema.dropTableIfExists('db_topology');
}
