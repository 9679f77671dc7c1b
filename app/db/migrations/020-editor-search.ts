// Full-text search of articles for the editor's list (issue 16 item 3):
// title, summary and body, not the title alone.
//   MariaDB/MySQL: a FULLTEXT index on the three columns, kept by InnoDB in
//     the same transaction as every save.
//   SQLite (the embedded site): an FTS5 table over the same columns, with
//     `articles` as its external content, kept by triggers on insert, update
//     and delete, and filled once here from the rows already there.
// Queries: app/ui/content-queries.ts (fullTextMatch).
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

export async function up(knex: Knex): Promise<void> {
  if (dialectOf(knex) === 'mysql') {
    await knex.raw('ALTER TABLE articles ADD FULLTEXT INDEX articles_text (title, summary, body)');
    return;
  }
  await knex.raw(
    `CREATE VIRTUAL TABLE articles_fts USING fts5(title, summary, body, content='articles', content_rowid='id', tokenize='unicode61 remove_diacritics 2')`,
  );
  await knex.raw(`CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
  END`);
  await knex.raw(`CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, summary, body) VALUES ('delete', old.id, old.title, old.summary, old.body);
  END`);
  await knex.raw(`CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, summary, body ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, summary, body) VALUES ('delete', old.id, old.title, old.summary, old.body);
    INSERT INTO articles_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
  END`);
  await knex.raw(`INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')`);
}

export async function down(knex: Knex): Promise<void> {
  if (dialectOf(knex) === 'mysql') {
    await knex.raw('ALTER TABLE articles DROP INDEX articles_text');
    return;
  }
  for (const trigger of ['articles_fts_insert', 'articles_fts_delete', 'articles_fts_update'])
    await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
  await knex.raw('DROP TABLE IF EXISTS articles_fts');
}
