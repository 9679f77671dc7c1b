// Live coverage on MariaDB and Redis: an entry is a save through the publish
// path that journals exactly the live article's page, its JSON and the
// feeds that show it as updated; long events are split into numbered pages
// of older entries that a new entry leaves alone; bad input is refused
// naming the field, and writes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LIVE_PAGE_SIZE } from '../../common/site-paths';
import { sharedRedisUrl } from '../harness/shared';
import {
  api,
  assertConsistent,
  entriesAfter,
  journalHead,
  page,
  save,
  settled,
  Site,
  startSite,
} from './producer-helpers';

interface Entry {
  id: number;
  seq: number;
}

describe('live coverage: entries of a live article', () => {
  let site: Site;
  let article: { id: number; slug: string; url: string };

  const addEntry = async (body: string, extra: Record<string, unknown> = {}): Promise<Entry> => {
    const res = await api(site, 'POST', `/api/articles/${article.id}/entries`, { body, ...extra });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Entry;
  };
  const outboxRows = async () => Number((await site.db('outbox').count({ n: '*' }))[0].n);

  before(async () => {
    site = await startSite('livecov', await sharedRedisUrl());
    article = await save(site, 'POST', '/api/articles', {
      title: 'Election night',
      body: '<p>Results as they come in.</p>',
      section: 'news',
      tags: ['Elections'],
      status: 'published',
      live: true,
    });
    await settled(site.db);
  });
  after(async () => {
    await site?.close();
  });

  it('an entry journals the live page, its JSON and the feeds that show the article as updated, and nothing else', async () => {
    const head = await journalHead(site.db);
    const entry = await addEntry('<p>Polls have closed.</p><script>alert(1)</script>');
    await settled(site.db);
    assert.deepEqual((await entriesAfter(site.db, head)).map((e) => e.path).sort(), [
      '/feeds/sections/news.atom.xml',
      '/feeds/sections/news.rss.xml',
      '/feeds/site.atom.xml',
      '/feeds/site.rss.xml',
      '/feeds/tags/elections.atom.xml',
      '/feeds/tags/elections.rss.xml',
      article.url,
      `${article.url}/live.json`,
    ]);
    const html = (await page(site.db, article.url))!.body;
    assert.match(html, new RegExp(`id="entry-${entry.id}"[^]*Polls have closed`));
    assert.doesNotMatch(html, /alert\(1\)/, 'the entry was sanitized like a body');
    assert.match(html, /aria-live="polite"/);
    assert.match(html, /<script src="\/assets\/live-[0-9a-f]{16}\.js" defer><\/script>/);
    const jsonLd = JSON.parse(/<script type="application\/ld\+json">([^]*?)<\/script>/.exec(html)![1]);
    assert.equal(jsonLd['@type'], 'LiveBlogPosting');
    assert.equal(jsonLd.liveBlogUpdate[0].articleBody, 'Polls have closed.');
    const updates = JSON.parse((await page(site.db, `${article.url}/live.json`))!.body);
    assert.deepEqual(
      updates.entries.map((e: { id: number }) => e.id),
      [entry.id],
    );
    assert.match(updates.entries[0].html, /Polls have closed/);
    const atom = (await page(site.db, '/feeds/site.atom.xml'))!.body;
    const published = /<published>([^<]+)<\/published>\s*<updated>([^<]+)<\/updated>/.exec(atom)!;
    assert.ok(Date.parse(published[2]) > Date.parse(published[1]), 'the feed shows the article as updated');
    assert.match((await page(site.db, '/feeds/site.rss.xml'))!.body, /<atom:updated>/);
  });

  it('an edit and a delete each re-render the same pages, and the entry is gone from the page', async () => {
    const entry = await addEntry('<p>First count: turnout 61%.</p>');
    await settled(site.db);
    let head = await journalHead(site.db);
    const edited = await api(site, 'PUT', `/api/articles/${article.id}/entries/${entry.id}`, {
      body: '<p>First count: turnout 62%.</p>',
    });
    assert.equal(edited.status, 200);
    await settled(site.db);
    assert.ok((await entriesAfter(site.db, head)).some((e) => e.path === `${article.url}/live.json`));
    assert.match((await page(site.db, article.url))!.body, /turnout 62%/);
    head = await journalHead(site.db);
    const deleted = await fetch(`${site.app.url}/api/articles/${article.id}/entries/${entry.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${site.token}` },
    });
    assert.equal(deleted.status, 200);
    await settled(site.db);
    const paths = (await entriesAfter(site.db, head)).map((e) => e.path);
    assert.ok(paths.includes(article.url) && paths.includes(`${article.url}/live.json`));
    assert.ok(
      paths.every((p) => p === article.url || p.startsWith(`${article.url}/`) || p.startsWith('/feeds/')),
      `only the live pages and feeds: ${paths.join(' ')}`,
    );
    assert.doesNotMatch((await page(site.db, article.url))!.body, /turnout 62%/);
  });

  it('a long event is paginated: the page shows the newest entries, numbered pages hold the older ones', async () => {
    const total = (await site.db('live_entries').where({ article_id: article.id }).count({ n: '*' }))[0].n;
    const entries: Entry[] = [];
    for (let i = Number(total); i < 2 * LIVE_PAGE_SIZE + 5; i++) entries.push(await addEntry(`<p>Update ${i}.</p>`));
    await settled(site.db, 60_000);
    const main = (await page(site.db, article.url))!.body;
    assert.equal(main.match(/class="live-entry"/g)!.length, LIVE_PAGE_SIZE);
    const newest = entries[entries.length - 1];
    assert.ok(
      main.indexOf(`entry-${newest.id}"`) < main.indexOf(`entry-${entries[entries.length - 2].id}"`),
      'newest first',
    );
    const last = Math.ceil(newest.seq / LIVE_PAGE_SIZE);
    assert.match(main, new RegExp(`<a href="${article.url}/\\d+" rel="prev">Earlier entries</a>`));
    for (let n = 1; n <= last; n++) {
      const p = await page(site.db, `${article.url}/${n}`);
      assert.equal(p?.op, 'put', `page ${n} of older entries exists`);
    }
    const first = (await page(site.db, `${article.url}/1`))!.body;
    const numbers = [...first.matchAll(/id="entry-(\d+)"/g)].map((m) => Number(m[1]));
    assert.ok(numbers.length > 0 && numbers.length <= LIVE_PAGE_SIZE);

    // One more entry: the live page, its JSON, the feeds and only the numbered page that holds it.
    const head = await journalHead(site.db);
    const more = await addEntry('<p>Recount requested.</p>');
    await settled(site.db);
    const paths = (await entriesAfter(site.db, head)).map((e) => e.path);
    const numbered = paths.filter((p) => /\/\d+$/.test(p));
    assert.deepEqual(numbered, [`${article.url}/${Math.ceil(more.seq / LIVE_PAGE_SIZE)}`]);
    assert.deepEqual(paths.filter((p) => !p.startsWith('/feeds/') && !numbered.includes(p)).sort(), [
      article.url,
      `${article.url}/live.json`,
    ]);
    await assertConsistent(site);
  });

  it('taking the article down tombstones its JSON and numbered pages', async () => {
    const other = await save(site, 'POST', '/api/articles', {
      title: 'Storm live',
      body: '<p>Tracking.</p>',
      status: 'published',
      live: true,
    });
    for (let i = 0; i <= LIVE_PAGE_SIZE; i++)
      assert.equal((await api(site, 'POST', `/api/articles/${other.id}/entries`, { body: `<p>${i}</p>` })).status, 201);
    await settled(site.db);
    assert.equal((await page(site.db, `${other.url}/2`))?.op, 'put');
    await save(site, 'PUT', `/api/articles/${other.id}`, { status: 'hidden' });
    await settled(site.db);
    for (const path of [other.url, `${other.url}/live.json`, `${other.url}/1`, `${other.url}/2`])
      assert.equal((await page(site.db, path))?.op, 'gone', `${path} is gone`);
  });

  it('refuses bad input with a 4xx naming the field, and writes nothing', async () => {
    const plain = await save(site, 'POST', '/api/articles', {
      title: 'Not live',
      body: '<p>x</p>',
      status: 'published',
    });
    await settled(site.db);
    const entriesBefore = Number((await site.db('live_entries').count({ n: '*' }))[0].n);
    const outboxBefore = await outboxRows();
    const cases: [string, string, unknown, number, string][] = [
      ['POST', `/api/articles/${article.id}/entries`, {}, 400, 'body'],
      ['POST', `/api/articles/${article.id}/entries`, { body: 42 }, 400, 'body'],
      ['POST', `/api/articles/${article.id}/entries`, { body: '<script>x()</script>' }, 400, 'body'],
      ['POST', `/api/articles/${article.id}/entries`, { body: '<p>x</p>', mood: 'calm' }, 400, 'mood'],
      [
        'POST',
        `/api/articles/${article.id}/entries`,
        { body: '<p>x</p>', postedAt: '2026-12-07T10:00:00' },
        400,
        'postedAt',
      ],
      ['POST', `/api/articles/${plain.id}/entries`, { body: '<p>x</p>' }, 409, 'live'],
      ['POST', `/api/articles/abc/entries`, { body: '<p>x</p>' }, 400, 'id'],
      ['PUT', `/api/articles/${article.id}/entries/0`, { body: '<p>x</p>' }, 400, 'entryId'],
      ['PUT', `/api/articles/${article.id}`, { live: 'yes' }, 400, 'live'],
    ];
    for (const [method, path, body, status, field] of cases) {
      const res = await api(site, method as 'POST', path, body);
      const json = (await res.json()) as { error: { field?: string; message: string } };
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${json.error.message}`);
      assert.equal(json.error.field, field, json.error.message);
    }
    const missing = await api(site, 'PUT', `/api/articles/${article.id}/entries/999999`, { body: '<p>x</p>' });
    assert.equal(missing.status, 404);
    assert.equal(Number((await site.db('live_entries').count({ n: '*' }))[0].n), entriesBefore);
    assert.equal(await outboxRows(), outboxBefore, 'no render was owed');
  });
});
