// Reader search (docs/design.md, "Reader search"): the producer's working
// copy of the static search index. Only visible items are in it. The files
// mirrors serve are rendered from these rows, one shard at a time, so no
// process ever holds the whole index.
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

/** Words compare byte for byte: a case- or accent-blind collation would make two folded words one key. */
function termColumn(knex: Knex, t: Knex.CreateTableBuilder): Knex.ColumnBuilder {
  const column = t.string('term', 160).notNullable();
  return dialectOf(knex) === 'mysql' ? column.collate('utf8mb4_bin') : column;
}

export async function up(knex: Knex): Promise<void> {
  // Each indexed (visible) item: its metadata file entry and its words with their scores.
  await knex.schema.createTable('search_docs', (t) => {
    t.bigInteger('doc').primary();
    t.integer('file').notNullable().index();
    t.integer('length').notNullable();
    t.text('entry').notNullable();
    t.text('terms', 'mediumtext').notNullable();
  });
  // One row per (word, item): what a term's best postings are read back from when one leaves.
  await knex.schema.createTable('search_postings', (t) => {
    termColumn(knex, t);
    t.bigInteger('doc').notNullable();
    t.integer('score').notNullable();
    t.primary(['term', 'doc']);
    t.index(['term', 'score'], 'search_postings_term_score_index');
  });
  // Per word: how many items hold it and its best TOP_POSTINGS postings, as its shard shows them.
  await knex.schema.createTable('search_terms', (t) => {
    termColumn(knex, t).primary();
    t.integer('shard').notNullable().index();
    t.integer('df').notNullable();
    t.text('top').notNullable();
  });
  // The live file of each term shard (its content-hashed path), listed by the root file.
  await knex.schema.createTable('search_shards', (t) => {
    t.integer('shard').primary();
    t.string('path', 200).notNullable();
    t.string('hash', 32).notNullable();
  });
  await knex.schema.createTable('search_stats', (t) => {
    t.integer('id').primary();
    t.bigInteger('docs').notNullable();
  });
  await knex('search_stats').insert({ id: 1, docs: 0 });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['search_stats', 'search_shards', 'search_terms', 'search_postings', 'search_docs'])
    await knex.schema.dropTable(table);
}
