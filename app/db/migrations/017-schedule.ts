// Scheduled publishing (docs/api.md, "Scheduling"): an article or event may
// carry the instant it is to be published (`publish_at`) and the instant it
// is to be taken down (`unpublish_at`), both epoch milliseconds. The row is
// the truth: the scheduler's timers and bull jobs only say "look now", and
// applying a due change clears its column in the same transaction.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  for (const table of ['articles', 'events']) {
    await knex.schema.alterTable(table, (t) => {
      t.bigInteger('publish_at').nullable();
      t.bigInteger('unpublish_at').nullable();
      // The scheduler's start and re-check read the earliest of each.
      t.index(['publish_at'], `${table}_publish_at_index`);
      t.index(['unpublish_at'], `${table}_unpublish_at_index`);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['articles', 'events']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropIndex(['unpublish_at'], `${table}_unpublish_at_index`);
      t.dropIndex(['publish_at'], `${table}_publish_at_index`);
      t.dropColumn('unpublish_at');
      t.dropColumn('publish_at');
    });
  }
}
