// Hardened accounts and the audit log (issue 16 items 5 and 7).
//   login_throttle: one row per throttled key (an address, an account, a
//     trusted browser), counted with compare-and-swap updates so parallel
//     tries cannot all slip past the limit (app/auth/login-limiter.ts). It
//     replaces login_attempts, whose count-then-insert could be raced.
//   audit_log: who did what to what, and when (app/audit/audit-log.ts).
//   idempotency_keys.request_hash: room for the keyed fingerprint's scheme
//     prefix (app/db/idempotency.ts); older unprefixed rows still match
//     until they expire.
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_throttle', (t) => {
    t.string('throttle_key', 160).primary();
    t.integer('failures').notNullable().defaultTo(0);
    // Epoch ms before which a counted try past the free ones is refused.
    t.bigInteger('next_at').notNullable().defaultTo(0);
    t.bigInteger('updated_at').notNullable();
    t.index(['updated_at']);
  });
  await knex.schema.dropTableIfExists('login_attempts');

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('at').notNullable();
    t.integer('actor_id').unsigned().nullable();
    // Kept as written: the row still names who acted after the user is renamed or gone.
    t.string('actor_name', 64).nullable();
    t.string('action', 40).notNullable();
    t.string('target', 200).notNullable().defaultTo('');
    t.string('address', 64).notNullable().defaultTo('');
    t.text('detail').nullable();
    t.index(['at']);
    t.index(['action', 'at']);
    t.index(['actor_name', 'at']);
  });

  if (dialectOf(knex) === 'mysql')
    await knex.schema.alterTable('idempotency_keys', (t) => {
      t.string('request_hash', 80).notNullable().alter();
    });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_log');
  await knex.schema.dropTableIfExists('login_throttle');
  await knex.schema.createTable('login_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.string('account', 64).notNullable();
    t.string('address', 64).notNullable();
    t.boolean('succeeded').notNullable();
    t.bigInteger('at').notNullable();
    t.index(['account', 'at']);
    t.index(['address', 'at']);
  });
}
