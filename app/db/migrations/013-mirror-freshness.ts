// Each mirror reports until when its newest signed heartbeat vouches for its
// copy (docs/trust.md, "Signed freshness"), so `hyperstatic status` can say
// which mirrors are frozen, including those that stopped reporting.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mirror_status', (t) => {
    t.bigInteger('fresh_until').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mirror_status', (t) => {
    t.dropColumn('fresh_until');
  });
}
