// Full rebuild and site-size independence on MariaDB: a rebuild can be
// interrupted and resumed without redoing or missing a page, a second
// rebuild journals nothing, and a new article touches the same pages on a
// site of 40 articles and on one of 3,000 (older archive pages never move).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createDatabase, Database } from '../../common/database';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { monthOf } from '../../common/site-paths';
import { migrateLatest } from '../../app/db/migrate';
import { createArticlesService } from '../../app/articles/articles-service';
import { generateSite } from '../../fixtures/generate';
import { rebuild } from '../../producer/rebuild';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer } from '../../producer/renderer';
import { sharedDatabase, SharedDatabase } from '../harness/shared';
import { entriesAfter, journalHead, page } from './producer-helpers';

const renderer = createRenderer({ name: 'Test', publicUrl: 'http://localhost:8080' });
const NOW = Date.UTC(2026, 10, 20, 12);
const opened: { shared: SharedDatabase; db: Database }[] = [];

async function generated(name: string, articles: number): Promise<Database> {
  const shared = await sharedDatabase(name);
  const db = createDatabase(shared.primaryUrl);
  opened.push({ shared, db });
  await migrateLatest(db);
  await generateSite(db, { articles, seed: 7, now: NOW });
  return db;
}

/** Saves a new published article through the articles service and renders its job; returns the journal entries. */
async function publishOne(db: Database, title: string) {
  const head = await journalHead(db);
  const saved = await createArticlesService({ db, now: () => NOW + 60_000 }).create({ title, body: '<p>new</p>', status: 'published', section: 'news', tags: ['Housing'] }, null);
  const outboxId = Number((await db('outbox').where({ item_id: saved.id }).max({ m: 'id' }).first())?.m);
  const handler = createRenderJobHandler({ db, renderer, notifier: createMemoryNotifier(), logger: createLogger('silent', 'test'), registry: new Registry(), now: () => NOW + 60_000 });
  await handler({ topic: 'article', itemId: saved.id, outboxId });
  return { saved, entries: await entriesAfter(db, head) };
}

describe('producer: full rebuild and bounded saves', () => {
  after(async () => {
    for (const { shared, db } of opened) {
      await db.destroy();
      await shared.drop();
    }
  });

  it('an interrupted rebuild resumes where it stopped, writes every page once, and a second rebuild journals nothing', async () => {
    const db = await generated('rebuildresume', 1200);
    const controller = new AbortController();
    let batches = 0;
    const first = await rebuild({ db, renderer, batchSize: 200, now: () => NOW, signal: controller.signal, onProgress: () => ++batches === 3 && controller.abort() });
    assert.equal(first.completed, false);
    const stopped = await db('rebuild_state').where({ id: 1 }).first();
    assert.equal(stopped.phase, 'articles');
    assert.equal(Number(stopped.cursor), 600, 'the cursor is the last item of the last committed batch');

    const second = await rebuild({ db, renderer, batchSize: 200, now: () => NOW });
    assert.equal(second.completed, true);
    assert.equal(second.resumed, true);
    const [{ n: paths }] = await db('journal').countDistinct({ n: 'path' });
    const [{ n: entries }] = await db('journal').count({ n: '*' });
    assert.equal(Number(entries), Number(paths), 'no page was journaled twice across the interruption');
    const published = Number((await db('articles').where({ status: 'published' }).count({ n: '*' }))[0].n);
    assert.equal(Number((await db('pages').where({ kind: 'article', op: 'put' }).where('path', 'like', '/news/%').count({ n: '*' }))[0].n), published);
    assert.match((await page(db, '/'))!.body, /Latest/);
    assert.match((await page(db, '/sitemap.xml'))!.body, /articles-1\.xml/);

    const head = await journalHead(db);
    const third = await rebuild({ db, renderer, batchSize: 500, now: () => NOW, restart: true });
    assert.equal(third.completed, true);
    assert.equal(third.written, 0, 'unchanged bytes are never journaled again');
    assert.equal(await journalHead(db), head);
  });

  it('a new article touches the same pages on a small and on a large site, and no older archive page', async () => {
    const small = await generated('boundsmall', 40);
    const large = await generated('boundlarge', 3000);
    for (const db of [small, large]) await rebuild({ db, renderer, now: () => NOW });
    const olderMonth = monthOf(NOW - 40 * 86_400_000);
    const before = await page(large, `/articles/${olderMonth}`);
    assert.ok(before, 'the large site has older month archives');

    const a = await publishOne(small, 'Tenants win rent case');
    const b = await publishOne(large, 'Tenants win rent case');
    const shape = (entries: { path: string }[]) => entries.map((e) => e.path.replace(/-\d+\.xml$/, '-N.xml')).sort();
    assert.deepEqual(shape(b.entries), shape(a.entries), 'the same set of pages, whatever the size of the site');
    assert.ok(b.entries.length <= 20, `a save touches a bounded number of pages (${b.entries.length})`);
    for (const e of b.entries) assert.ok(!e.path.includes(olderMonth), `${e.path}: older archive pages are stable`);
    assert.deepEqual(await page(large, `/articles/${olderMonth}`), before);
  });
});
