// What a save publishes, on MariaDB and Redis: the exact pages the
// dependency model names, each correct, content before indexes, removal from
// every listing, 410 tombstones, unchanged bytes journaled never, events
// with their calendar, and bad input refused before anything is written.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SEARCH_ROOT_PATH } from '../../common/search-index-format';
import { monthOf } from '../../common/site-paths';
import { createRenderer } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { api, entriesAfter, journalHead, page, save, settled, Site, startSite } from './producer-helpers';

const isSearchFile = (path: string) => path.startsWith('/assets/search/') || path.startsWith('/search/');

describe('producer: the pages a save affects', () => {
  let site: Site;
  const month = monthOf(Date.now());

  before(async () => {
    site = await startSite('prodsite', await sharedRedisUrl());
  });
  after(async () => {
    await site?.close();
  });

  it('publishing an article renders its page, its month and root in every listing, feeds and sitemap, content first', async () => {
    const head = await journalHead(site.db);
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Harbour vote delayed',
      summary: 'Objections pile up',
      body: '<p>x</p>',
      section: 'news',
      tags: ['Harbour', 'Housing'],
      status: 'published',
    });
    await settled(site.db);
    const all = await entriesAfter(site.db, head);
    // The search index's files (test/integration/search-index.test.ts checks them) are named by their content.
    const entries = all.filter((e) => !isSearchFile(e.path));
    assert.ok(
      all.some((e) => e.path === SEARCH_ROOT_PATH && e.batch === entries[0].batch),
      'with its search index',
    );
    const paths = entries.map((e) => e.path).sort();
    // The site's first render also publishes the files its pages link to (stylesheet, icons,
    // manifest, the mirror list page), its 404 page and the section and tag indexes.
    const renderer = createRenderer({ name: 'x', publicUrl: 'http://x' });
    const stylesheet = renderer.stylesheet.path;
    assert.deepEqual(
      paths,
      [
        ...renderer.files.map((f) => f.path),
        '/mirrors',
        '/404.html',
        '/search',
        '/sections',
        '/tags',
        '/',
        '/articles',
        `/articles/${month}`,
        '/feeds/sections/news.atom.xml',
        '/feeds/sections/news.rss.xml',
        '/feeds/site.atom.xml',
        '/feeds/site.rss.xml',
        '/feeds/tags/harbour.atom.xml',
        '/feeds/tags/harbour.rss.xml',
        '/feeds/tags/housing.atom.xml',
        '/feeds/tags/housing.rss.xml',
        saved.url,
        '/sections/news',
        `/sections/news/${month}`,
        '/sitemap.xml',
        '/sitemaps/articles-0.xml',
        '/sitemaps/news.xml',
        // Signed by the user who saved it: their author page, its month, the authors index and sitemap.
        '/authors',
        '/authors/editor1',
        `/authors/editor1/${month}`,
        '/sitemaps/authors.xml',
        '/tags/harbour',
        `/tags/harbour/${month}`,
        '/tags/housing',
        `/tags/housing/${month}`,
      ].sort(),
    );
    assert.equal(new Set(entries.map((e) => e.batch)).size, 1, 'one save, one batch');
    assert.deepEqual(
      entries.slice(0, renderer.files.length + 1).map((e) => e.path),
      [...renderer.files.map((f) => f.path), saved.url],
      'the stylesheet and site files, then the article, come before every index that links to it',
    );
    for (const path of [
      '/',
      '/sections/news',
      `/tags/harbour/${month}`,
      '/feeds/site.rss.xml',
      '/feeds/tags/housing.atom.xml',
      '/sitemaps/articles-0.xml',
    ]) {
      assert.match((await page(site.db, path))!.body, new RegExp(saved.slug), `${path} links the article`);
    }
    const article = (await page(site.db, saved.url))!.body;
    assert.ok(
      article.includes(`<link rel="stylesheet" href="${stylesheet}">`),
      'the article links the stylesheet by its content-hashed path',
    );
    assert.match(
      (await page(site.db, stylesheet))!.body,
      /^\/\*[^]*:root\{/,
      'the stylesheet page is templates/site.css',
    );
    assert.match(article, /<a href="\/tags\/harbour" rel="tag">Harbour<\/a>/);
    assert.match(article, /<a href="\/sections\/news">News<\/a>/);
    assert.match(
      (await page(site.db, '/sitemap.xml'))!.body,
      /<loc>http:\/\/localhost:8080\/sitemaps\/articles-0.xml<\/loc>/,
    );
  });

  it('a body-only edit journals the article page and the search files of the words it changed, nothing else', async () => {
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Library hours',
      body: '<p>v1</p>',
      section: 'culture',
      tags: ['Libraries'],
      status: 'published',
    });
    await settled(site.db);
    const head = await journalHead(site.db);
    await save(site, 'PUT', `/api/articles/${saved.id}`, { body: '<p>v2 with longer hours</p>' });
    await settled(site.db);
    const paths = (await entriesAfter(site.db, head)).map((e) => e.path);
    assert.deepEqual(
      paths.filter((p) => !isSearchFile(p)),
      [saved.url],
    );
    assert.ok(
      paths.includes(SEARCH_ROOT_PATH) && !paths.some((p) => p.startsWith('/search/docs/')),
      'shards and root only',
    );
    assert.match((await page(site.db, saved.url))!.body, /v2 with longer hours/);
  });

  it('a save that changes nothing visible writes no journal entry', async () => {
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Quiet one',
      body: '<p>same</p>',
      status: 'published',
    });
    await settled(site.db);
    const head = await journalHead(site.db);
    await save(site, 'PUT', `/api/articles/${saved.id}`, { tags: [] });
    await settled(site.db);
    assert.deepEqual(await entriesAfter(site.db, head), []);
  });

  it("removing a tag takes the article off that tag's pages and leaves the other tag alone", async () => {
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Night market returns',
      body: '<p>x</p>',
      tags: ['Markets', 'Food'],
      status: 'published',
    });
    await settled(site.db);
    const head = await journalHead(site.db);
    await save(site, 'PUT', `/api/articles/${saved.id}`, { tags: ['Food'] });
    await settled(site.db);
    const paths = (await entriesAfter(site.db, head)).map((e) => e.path);
    assert.ok(paths.includes('/tags/markets'), 'the tag it left is re-rendered');
    assert.ok(!paths.includes('/tags/food'), 'the tag it kept is not touched');
    // Its only article left: the tag's pages become tombstones, never a page listing a stale item.
    assert.equal((await page(site.db, '/tags/markets'))!.op, 'gone');
    assert.equal((await page(site.db, `/tags/markets/${month}`))!.op, 'gone');
    assert.match((await page(site.db, '/tags/food'))!.body, /Night market returns/);
  });

  it('hiding an article turns its page into a 410 tombstone and removes it from every listing', async () => {
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Withdrawn story',
      body: '<p>x</p>',
      section: 'news',
      tags: ['Harbour'],
      status: 'published',
    });
    await settled(site.db);
    assert.match((await page(site.db, '/'))!.body, /Withdrawn story/);
    await save(site, 'PUT', `/api/articles/${saved.id}`, { status: 'hidden' });
    await settled(site.db);
    const tombstone = (await page(site.db, saved.url))!;
    assert.equal(tombstone.op, 'gone');
    assert.match(tombstone.body, /no longer published/);
    for (const path of [
      '/',
      '/articles',
      `/articles/${month}`,
      '/sections/news',
      `/sections/news/${month}`,
      '/tags/harbour',
      '/feeds/site.rss.xml',
      '/sitemaps/articles-0.xml',
    ]) {
      assert.doesNotMatch(
        (await page(site.db, path))!.body,
        /Withdrawn story|withdrawn-story/,
        `${path} no longer lists it`,
      );
    }
  });

  it('a draft is never published and never tombstoned', async () => {
    const head = await journalHead(site.db);
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Secret draft',
      body: '<p>x</p>',
      status: 'draft',
    });
    await save(site, 'PUT', `/api/articles/${saved.id}`, { status: 'hidden' });
    await settled(site.db);
    assert.deepEqual(await entriesAfter(site.db, head), []);
  });

  it("featuring an article puts it in the home page's featured list", async () => {
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Flood watch rota',
      body: '<p>x</p>',
      status: 'published',
    });
    await settled(site.db);
    const head = await journalHead(site.db);
    await save(site, 'PUT', `/api/articles/${saved.id}`, { featured: true });
    await settled(site.db);
    assert.deepEqual(
      (await entriesAfter(site.db, head)).map((e) => e.path),
      ['/'],
    );
    assert.match((await page(site.db, '/'))!.body, /Featured[\s\S]*Flood watch rota[\s\S]*Latest/);
  });

  it('events get a page and a calendar month; moving an event moves it between months', async () => {
    const saved = await save(site, 'POST', '/api/events', {
      title: 'Repair café',
      body: '<p>Bring things</p>',
      location: 'Union Hall',
      startsAt: '2031-03-14T18:00:00Z',
      status: 'published',
      tags: ['Repair'],
    });
    assert.equal(saved.url, '/event/repair-cafe', 'single events live outside /events* (age-based cache freshness)');
    await settled(site.db);
    assert.match((await page(site.db, saved.url))!.body, /Union Hall/);
    assert.match((await page(site.db, '/events/2031-03'))!.body, /Repair café/);
    assert.match((await page(site.db, '/events'))!.body, /href="\/events\/2031-03"/);
    await save(site, 'PUT', `/api/events/${saved.id}`, { startsAt: '2031-05-02T10:00:00Z' });
    await settled(site.db);
    assert.equal((await page(site.db, '/events/2031-03'))!.op, 'gone', 'its old month had nothing else: tombstoned');
    assert.match((await page(site.db, '/events/2031-05'))!.body, /Repair café/);
    const calendar = (await page(site.db, '/events'))!.body;
    assert.match(calendar, /href="\/events\/2031-05"/);
    assert.doesNotMatch(calendar, /href="\/events\/2031-03"/, 'the calendar lists only months that have events');
    const got = (await (await api(site, 'GET', `/api/events/${saved.id}`)).json()) as {
      startsAt: string;
      tags: string[];
    };
    assert.equal(got.startsAt, '2031-05-02T10:00:00.000Z');
    assert.deepEqual(got.tags, ['Repair']);
  });

  it('refuses bad events with a 4xx naming the field and writes nothing', async () => {
    const count = async () => Number((await site.db('events').count({ n: '*' }))[0].n);
    const before = await count();
    const cases: [unknown, number, RegExp][] = [
      [{ title: 'x', body: 'y', startsAt: '2026-02-30T10:00:00Z' }, 400, /startsAt is not a real date/],
      [{ title: 'x', body: 'y', startsAt: '2026-01-10T25:00:00Z' }, 400, /startsAt is not a real date/],
      [{ title: 'x', body: 'y', startsAt: 'next tuesday' }, 400, /RFC 3339/],
      [{ title: 'x', body: 'y' }, 400, /startsAt/],
      [
        { title: 'x', body: 'y', startsAt: '2026-01-10T10:00:00Z', endsAt: '2026-01-09T10:00:00Z' },
        400,
        /endsAt must not be before/,
      ],
      [{ title: 'x', body: 'y', startsAt: '2026-01-10T10:00:00Z', tags: ['<script>'] }, 400, /tag/],
      [{ title: 'x', body: 'y', startsAt: '2026-01-10T10:00:00Z', tags: ['a/b'] }, 400, /tag/],
      [{ title: 'x', body: 'y', startsAt: '2026-01-10T10:00:00Z', colour: 'red' }, 400, /unknown field: colour/],
      [
        { title: 'Repair café', slug: 'repair-cafe', body: 'y', startsAt: '2026-01-10T10:00:00Z' },
        409,
        /already taken/,
      ],
    ];
    for (const [body, status, message] of cases) {
      const res = await api(site, 'POST', '/api/events', body);
      const json = (await res.json()) as { error: { message: string } };
      assert.equal(res.status, status, json.error.message);
      assert.match(json.error.message, message);
    }
    assert.equal(await count(), before);
    const unauthorized = await fetch(`${site.app.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(unauthorized.status, 401);
  });
});
