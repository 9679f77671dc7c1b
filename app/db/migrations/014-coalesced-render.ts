// Coalesced, parallel rendering (docs/design.md, "Publish path"): producers
// claim waiting saves from the outbox (a lease, so a killed producer's work
// comes back), stage each item's page with its listing rows, render outside
// the journal lock and journal under it only what is not older than what is
// live. `render_clock` orders the listing changes; each page remembers the
// clock its body was rendered at.
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

export async function up(knex: Knex): Promise<void> {
  const mysql = dialectOf(knex) === 'mysql';
  await knex.schema.alterTable('outbox', (t) => {
    t.string('claimed_by', 64).nullable();
    t.bigInteger('claimed_until').nullable();
  });
  await knex.schema.createTable('render_clock', (t) => {
    t.integer('id').primary();
    t.bigInteger('clock').notNullable();
  });
  await knex('render_clock').insert({ id: 1, clock: 0 });
  await knex.schema.alterTable('pages', (t) => {
    t.bigInteger('rendered_clock').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable('render_state', (t) => {
    t.bigInteger('state_clock').notNullable().defaultTo(0);
    /** States index pages may still show (JSON array; null inside it: never rendered); null when the indexes are current. */
    t.text('unindexed').nullable();
    /** The item's page as of state_clock, until it is journaled (an index rendered meanwhile may link it). */
    t.string('staged_path', 512).nullable();
    if (mysql) t.specificType('staged_body', 'longblob').nullable();
    else t.binary('staged_body').nullable();
    t.bigInteger('staged_modified').nullable();
    t.index(['staged_path'], 'render_state_staged');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('render_state', (t) => {
    t.dropIndex(['staged_path'], 'render_state_staged');
    for (const c of ['state_clock', 'unindexed', 'staged_path', 'staged_body', 'staged_modified']) t.dropColumn(c);
  });
  await knex.schema.alterTable('pages', (t) => t.dropColumn('rendered_clock'));
  await knex.schema.dropTableIfExists('render_clock');
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('claimed_by');
    t.dropColumn('claimed_until');
  });
}
