// The editor's article search (app/ui/content-queries.ts) on both databases:
// every word of the search must appear in the title, the summary or the
// body, a word also finds longer ones it begins, case and accents do not
// matter on SQLite, edits and deletes reach the index at once, and text
// that holds no word finds nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrateLatest } from '../../app/db/migrate';
import { listArticles } from '../../app/ui/content-queries';
import { createDatabase, type Database } from '../../common/db/database';
import { sharedDatabase, type SharedDatabase } from '../harness/shared';

for (const dialect of ['mariadb', 'sqlite'] as const) {
  describe(`editor search on ${dialect}`, () => {
    let shared: SharedDatabase | undefined;
    let db: Database;
    const ids: Record<string, number> = {};

    async function add(key: string, row: { title: string; summary?: string; body: string }): Promise<void> {
      const [id] = await db('articles').insert({
        slug: key,
        title: row.title,
        summary: row.summary ?? '',
        body: row.body,
        status: 'draft',
        featured: false,
        created_at: 1,
        updated_at: Object.keys(ids).length + 1,
      });
      ids[key] = Number(id);
    }

    async function found(q: string): Promise<string[]> {
      const { rows } = await listArticles(db, { q, page: 1 });
      return rows.map((r) => r.slug).sort();
    }

    before(async () => {
      if (dialect === 'mariadb') shared = await sharedDatabase('editor_search');
      db = createDatabase(shared ? shared.primaryUrl : 'sqlite::memory:');
      await migrateLatest(db);
      await add('council', { title: 'Council meets', body: '<p>The budget vote was postponed.</p>' });
      await add('harbour', {
        title: 'Harbour news',
        summary: 'Ferries return to the harbour',
        body: '<p>Elections for the port authority.</p>',
      });
      await add('flood', {
        title: 'Flood warning',
        body: '<p>River levels rise in the valley; the council meets.</p>',
      });
    });
    after(async () => {
      await db?.destroy();
      await shared?.drop();
    });

    it('finds a word that appears only in the body', async () => {
      assert.deepEqual(await found('postponed'), ['council']);
      assert.deepEqual(await found('valley'), ['flood']);
    });

    it('finds a word in the summary, and a word by its beginning', async () => {
      assert.deepEqual(await found('ferries'), ['harbour']);
      assert.deepEqual(await found('elect'), ['harbour']);
    });

    it('needs every word, in any field, in any order and case', async () => {
      assert.deepEqual(await found('council meets'), ['council', 'flood']);
      assert.deepEqual(await found('MEETS budget'), ['council']);
      assert.deepEqual(await found('budget valley'), []);
      // "the" and "was" are stopwords of MariaDB's index: they must not empty the result.
      assert.deepEqual(await found('the budget was'), ['council']);
    });

    it('sees edits and deletes at once', async () => {
      await db('articles').where({ id: ids.flood }).update({ body: '<p>Levels fell overnight.</p>' });
      assert.deepEqual(await found('valley'), []);
      assert.deepEqual(await found('overnight'), ['flood']);
      await db('articles').where({ id: ids.flood }).delete();
      assert.deepEqual(await found('overnight'), []);
    });

    it('finds nothing for text without words, and treats search syntax as text', async () => {
      assert.deepEqual(await found('%'), []);
      assert.deepEqual(await found('"*'), []);
      assert.deepEqual(await found('council OR harbour'), []);
      assert.deepEqual(await found('-council'), ['council']);
    });
  });
}
