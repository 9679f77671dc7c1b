// Full rebuild and site-size independence on MariaDB: a rebuild can be
// interrupted and resumed without redoing or missing a page, a second
// rebuild journals nothing, and a new article touches the same pages on a
// site of 40 articles and on one of 3,000 (older archive pages never move).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createDatabase, Database } from '../../common/db/database';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { SEARCH_ROOT_PATH } from '../../common/search-index-format';
import { monthOf } from '../../common/site-paths';
import { migrateLatest } from '../../app/db/migrate';
import { createArticlesService } from '../../app/articles/article-kind';
import { generateSite } from '../../fixtures/generate';
import { rebuild } from '../../producer/rebuild';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer } from '../../producer/renderer';
import { sharedDatabase, SharedDatabase } from '../harness/shared';
import { entriesAfter, journalHead, page } from './producer-helpers';

const renderer = createRenderer({ name: 'Test', publicUrl: 'http://localhost:8080' });
const NOW = Date.UTC(2026, 10, 20, 12);
const opened: { shared: SharedDatabase; db: Database }[] = [];

async function generated(name: string, articles: number, perDay?: number): Promise<Database> {
  const shared = await sharedDatabase(name);
  const db = createDatabase(shared.primaryUrl);
  opened.push({ shared, db });
  await migrateLatest(db);
  await generateSite(db, { articles, seed: 7, now: NOW, perDay });
  return db;
}

/** Renders the newest save of an article as the producer would; returns the paths it journaled. */
async function renderSaved(db: Database, id: number): Promise<string[]> {
  const head = await journalHead(db);
  const outboxId = Number((await db('outbox').where({ item_id: id }).max({ m: 'id' }).first())?.m);
  const handler = createRenderJobHandler({
    db,
    renderer,
    notifier: createMemoryNotifier(),
    logger: createLogger('silent', 'test'),
    registry: new Registry(),
    now: () => NOW + 60_000,
  });
  await handler({ topic: 'article', itemId: id, outboxId });
  return (await entriesAfter(db, head)).map((e) => e.path);
}

/** Article ids of one month of a listing, oldest first (the order archive pages are numbered in). */
async function monthIds(db: Database, key: string, month: string): Promise<number[]> {
  const rows = await db('index_entries')
    .where({ index_key: key, bucket: month })
    .orderBy([{ column: 'sort_at' }, { column: 'item_id' }])
    .select('item_id');
  return rows.map((r) => Number(r.item_id));
}

async function titleOf(db: Database, id: number): Promise<string> {
  return String((await db('articles').where({ id }).first('title')).title);
}

const escaped = (text: string) => text.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/"/g, '&quot;');

/** Saves a new published article through the articles service and renders its job; returns the journal entries. */
async function publishOne(db: Database, title: string) {
  const head = await journalHead(db);
  const saved = await createArticlesService({ db, now: () => NOW + 60_000 }).create(
    { title, body: '<p>new</p>', status: 'published', section: 'news', tags: ['Housing'] },
    null,
  );
  const outboxId = Number((await db('outbox').where({ item_id: saved.id }).max({ m: 'id' }).first())?.m);
  const handler = createRenderJobHandler({
    db,
    renderer,
    notifier: createMemoryNotifier(),
    logger: createLogger('silent', 'test'),
    registry: new Registry(),
    now: () => NOW + 60_000,
  });
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
    const first = await rebuild({
      db,
      renderer,
      batchSize: 200,
      now: () => NOW,
      signal: controller.signal,
      onProgress: () => ++batches === 3 && controller.abort(),
    });
    assert.equal(first.completed, false);
    const stopped = await db('rebuild_state').where({ id: 1 }).first();
    assert.equal(stopped.phase, 'articles');
    assert.equal(Number(stopped.cursor), 600, 'the cursor is the last item of the last committed batch');

    const second = await rebuild({ db, renderer, batchSize: 200, now: () => NOW });
    assert.equal(second.completed, true);
    assert.equal(second.resumed, true);
    // Except the search root: each batch of the last phase that replaces term shards names them (producer/rebuild-search.ts).
    const [{ n: paths }] = await db('journal').whereNot('path', SEARCH_ROOT_PATH).countDistinct({ n: 'path' });
    const [{ n: entries }] = await db('journal').whereNot('path', SEARCH_ROOT_PATH).count({ n: '*' });
    assert.equal(Number(entries), Number(paths), 'no page was journaled twice across the interruption');
    const published = Number((await db('articles').where({ status: 'published' }).count({ n: '*' }))[0].n);
    assert.equal(
      Number(
        (await db('pages').where({ kind: 'article', op: 'put' }).where('path', 'like', '/news/%').count({ n: '*' }))[0]
          .n,
      ),
      published,
    );
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
    // Paths up to the shard and archive page numbers, which depend on how many items came before, and
    // the search shards' content hashes and metadata file numbers (producer/search-index.ts), which depend
    // on the other items.
    const shape = (entries: { path: string }[]) =>
      [
        ...new Set(
          entries.map((e) =>
            e.path
              .replace(/-\d+\.xml$/, '-N.xml')
              .replace(/(\/\d{4}-\d{2})\/\d+$/, '$1')
              .replace(/^(\/assets\/search\/terms-\d+)-[0-9a-f]+\.json$/, '$1.json')
              .replace(/^(\/search\/docs)\/\d+\.json$/, '$1/N.json'),
          ),
        ),
      ].sort();
    assert.deepEqual(shape(b.entries), shape(a.entries), 'the same set of pages, whatever the size of the site');
    // The search index adds one shard per distinct word of the article (and the file each replaces), bounded by
    // the article's words, not the site's size: counted apart (producer/search-index.ts).
    const pages = b.entries.filter((e) => !e.path.startsWith('/assets/search/') && !e.path.startsWith('/search/'));
    assert.ok(pages.length <= 20, `a save touches a bounded number of pages (${pages.length})`);
    for (const e of b.entries) assert.ok(!e.path.includes(olderMonth), `${e.path}: older archive pages are stable`);
    assert.deepEqual(await page(large, `/articles/${olderMonth}`), before);
  });

  it('a month archive is split into pages of 50 from its oldest item: an edit re-renders the page holding the item, a removal shifts the later pages and drops an emptied one', async () => {
    // ~130 articles within a few hours: one month holds them all.
    const db = await generated('archivepages', 130, 2000);
    await rebuild({ db, renderer, now: () => NOW });
    const month = monthOf(NOW);
    let ids = await monthIds(db, 'all', month);
    assert.ok(ids.length > 100 && ids.length <= 150, `the month has ${ids.length} articles`);
    const pageCount = (n: number) => Math.ceil(n / 50);
    const archive = (n: number) => (n === 1 ? `/articles/${month}` : `/articles/${month}/${n}`);
    for (let n = 1; n <= pageCount(ids.length); n++) {
      const body = (await page(db, archive(n)))!.body;
      assert.equal(
        // The cards in <main>: the header's navigation is a list too.
        (/<main[^]*<\/main>/.exec(body)![0].match(/<li[ >]/g) ?? []).length,
        Math.min(50, ids.length - (n - 1) * 50),
        `${archive(n)} holds its share of the month`,
      );
    }
    assert.match(
      (await page(db, archive(1)))!.body,
      new RegExp(escaped(await titleOf(db, ids[0]))),
      'page 1 starts with the oldest article',
    );
    assert.match((await page(db, archive(2)))!.body, /rel="prev" href="\/articles\/\d{4}-\d{2}"/);

    // A title edit: of this month's archive, only the page that holds the item.
    const target = ids[60];
    await createArticlesService({ db, now: () => NOW + 60_000 }).update(target, { title: 'Renamed on page two' });
    const edited = await renderSaved(db, target);
    assert.deepEqual(
      edited.filter((p) => p.startsWith(`/articles/${month}`)),
      [archive(2)],
    );
    assert.match((await page(db, archive(2)))!.body, /Renamed on page two/);

    // Hide items from page 1 until the last page holds one item, then one more: the last page is a tombstone.
    const service = createArticlesService({ db, now: () => NOW + 60_000 });
    while ((ids.length - 1) % 50 !== 0) {
      await service.update(ids[0], { status: 'hidden' });
      await renderSaved(db, ids[0]);
      ids = await monthIds(db, 'all', month);
    }
    const lastPage = pageCount(ids.length);
    await service.update(ids[0], { status: 'hidden' });
    const shifted = await renderSaved(db, ids[0]);
    for (let n = 1; n <= lastPage; n++) assert.ok(shifted.includes(archive(n)), `${archive(n)} shifted`);
    assert.equal((await page(db, archive(lastPage)))!.op, 'gone', 'the emptied last page is gone');
    assert.ok(
      !(await page(db, archive(lastPage - 1)))!.body.includes('rel="next"'),
      'the page before no longer links to it',
    );
  });

  it('a rebuild makes tombstones of pages whose item was hidden, unpublished, renamed or deleted in the database, and drops them from every listing', async () => {
    const db = await generated('rebuildsweep', 60);
    const [hidden, unpublished, deleted, renamed] = (
      await db('articles').where({ status: 'published' }).orderBy('id', 'desc').limit(4).select('id', 'slug', 'title')
    ).map((r) => ({ id: Number(r.id), slug: String(r.slug), title: String(r.title) }));
    // The deleted article alone carries a tag, so that tag's listing empties.
    const [tagId] = await db('tags').insert({ slug: 'only-deleted', name: 'Only deleted' });
    await db('article_tags').insert({ article_id: deleted.id, tag_id: Number(tagId) });
    await rebuild({ db, renderer, now: () => NOW });
    assert.equal((await page(db, '/tags/only-deleted'))!.op, 'put');
    for (const a of [hidden, unpublished, deleted, renamed])
      assert.match((await page(db, '/articles'))!.body, new RegExp(escaped(a.title)));

    const month = monthOf(NOW);
    assert.equal((await page(db, `/articles/${month}/2`))?.op, 'put', 'the month needs two archive pages');

    // Changed behind the producer's back (a restore, a manual fix): no outbox rows, no render jobs.
    await db('articles').where({ id: hidden.id }).update({ status: 'hidden' });
    await db('articles').where({ id: unpublished.id }).update({ status: 'draft', published_at: null });
    await db('articles').where({ id: deleted.id }).delete();
    await db('articles')
      .where({ id: renamed.id })
      .update({ slug: `${renamed.slug}-moved` });
    // Enough of the month's oldest rows go that it fits on one page.
    const left = await db('articles')
      .where({ status: 'published' })
      .where('published_at', '>=', Date.parse(`${month}-01T00:00:00Z`))
      .orderBy('published_at')
      .select('id');
    const purged = left.slice(0, Math.max(0, left.length - 50)).map((r) => Number(r.id));
    await db('articles').whereIn('id', purged).delete();
    const result = await rebuild({ db, renderer, now: () => NOW });
    assert.equal(result.completed, true);

    for (const a of [hidden, unpublished, deleted, renamed]) {
      const old = await page(db, `/news/${a.slug}`);
      assert.equal(old?.op, 'gone', `/news/${a.slug} is a 410 tombstone`);
      assert.match(old!.body, /no longer published/);
    }
    assert.equal((await page(db, `/news/${renamed.slug}-moved`))?.op, 'put');
    assert.equal(
      (await page(db, `/articles/${month}/2`))?.op,
      'gone',
      'the archive page the month no longer fills is a tombstone',
    );
    assert.ok(!(await page(db, `/articles/${month}`))!.body.includes('rel="next"'));
    for (const path of ['/tags/only-deleted', `/tags/only-deleted/${monthOf(NOW)}`])
      assert.equal((await page(db, path))?.op, 'gone', `${path}: the emptied listing is gone`);
    const listings = ['/articles', `/articles/${monthOf(NOW)}`, '/feeds/site.rss.xml', '/sitemaps/articles-0.xml'];
    for (const path of listings) {
      const body = (await page(db, path))!.body;
      for (const a of [hidden, unpublished, deleted])
        assert.ok(
          !body.includes(`/news/${a.slug}"`) && !body.includes(`/news/${a.slug}<`),
          `${path} no longer lists ${a.slug}`,
        );
    }
    assert.equal(
      await db('index_entries').where({ topic: 'article', item_id: deleted.id }).first(),
      undefined,
      'the deleted row left the listing index',
    );

    const head = await journalHead(db);
    assert.equal(
      (await rebuild({ db, renderer, now: () => NOW, restart: true })).written,
      0,
      'a second rebuild finds nothing to change',
    );
    assert.equal(await journalHead(db), head);
  });
});
