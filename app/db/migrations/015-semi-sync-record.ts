// What the primary ran as: its semi-sync source side on or off, and since
// when. The source side is off in every node's config and switched on at run
// time on the primary only (app/db/semi-sync-roles.ts), so after a crash and
// restart the live variable always says OFF; a crashed old primary's own copy
// of this row is what tells `db rejoin` whether its diverged tail can have
// been answered (app/db/divergence.ts, issue 22 item 1). Null: written by an
// older version, which did not record it (the live variable is used then).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('db_topology', (t) => {
    t.boolean('semi_sync_source').nullable();
    t.bigInteger('semi_sync_source_at').nullable();
    // Its gtid_binlog_pos then: which diverged transactions came after the switch, exactly (binlog times are seconds).
    t.string('semi_sync_source_gtid', 1000).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('db_topology', (t) => {
    t.dropColumn('semi_sync_source_gtid');
    t.dropColumn('semi_sync_source_at');
    t.dropColumn('semi_sync_source');
  });
}
