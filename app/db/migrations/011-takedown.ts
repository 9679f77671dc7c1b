// Takedown that removes (docs/design.md, "Change journal"): the blobs a
// takedown purged (so the origin's /blobs/SHA answers 404 for media files,
// which live on disk, not in `blobs`), the operator's audit trail of
// `hyperstatic purge`, and the journal indexes the purge needs to find every
// entry that ever named a path or a blob without scanning the journal.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('purged_blobs', (t) => {
    t.string('sha256', 64).primary();
    /** Seq of the journal entry that purged it. */
    t.bigInteger('seq').notNullable();
    t.bigInteger('purged_at').notNullable();
  });
  await knex.schema.createTable('takedowns', (t) => {
    t.bigIncrements('id').primary();
    t.string('path', 512).notNullable();
    t.string('topic', 16).nullable();
    t.integer('item_id').unsigned().nullable();
    t.string('reason', 2000).notNullable();
    /** Who ran it: --by, else the operating-system user. */
    t.string('actor', 200).notNullable();
    /** Journal head after the takedown's batch. */
    t.bigInteger('seq').notNullable();
    t.integer('purged').unsigned().notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['path']);
  });
  await knex.schema.alterTable('journal', (t) => {
    t.index(['path'], 'journal_path');
    t.index(['sha256'], 'journal_sha256');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('journal', (t) => {
    t.dropIndex(['path'], 'journal_path');
    t.dropIndex(['sha256'], 'journal_sha256');
  });
  await knex.schema.dropTableIfExists('takedowns');
  await knex.schema.dropTableIfExists('purged_blobs');
}
