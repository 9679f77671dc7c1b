// Compressed variants of text pages (common/content-coding.ts): a live page
// and its journal entry name the blobs of its gzip and brotli encodings
// beside the page's own. Null: no variant (not text, too small, or rendered
// by a version before this one; a rebuild or the next render adds them).
import type { Knex } from 'knex';

const TABLES = ['pages', 'journal'];

export async function up(knex: Knex): Promise<void> {
  for (const table of TABLES)
    await knex.schema.alterTable(table, (t) => {
      t.string('gzip_sha256', 64).nullable();
      t.integer('gzip_size').unsigned().nullable();
      t.string('br_sha256', 64).nullable();
      t.integer('br_size').unsigned().nullable();
    });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of TABLES)
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('br_size');
      t.dropColumn('br_sha256');
      t.dropColumn('gzip_size');
      t.dropColumn('gzip_sha256');
    });
}
