// An embargo that holds: until its publishAt an item is on no public path
// (its page, home, section, tag, month archive, RSS, Atom, sitemaps, the
// news sitemap) and nowhere in the change feed mirrors replay from
// (`/feed?after=0`), nor in any stored blob; at its time it is on all of
// them. Cancelling or moving the embargo before its time holds too. Real
// MariaDB, Redis and producer; only the clock is fake.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { monthOf } from '../../common/site-paths';
import { sharedRedisUrl } from '../harness/shared';
import { replayFeed } from '../support/feed-replay';
import { journalHead, page, settled } from './producer-helpers';
import { call, inFuture, ScheduledSite, startScheduledSite, waitForStatus } from './schedule-helpers';

const HOUR = 3600_000;

describe('an embargo holds on every public path until its time', () => {
  let site: ScheduledSite;

  before(async () => {
    site = await startScheduledSite('embargo', await sharedRedisUrl(), { producer: true });
    // A published neighbour in the same section and tag, so every listing exists before the embargo lifts.
    const res = await call(site, 'POST', '/api/articles', {
      title: 'Neighbour story',
      body: '<p>n</p>',
      section: 'news',
      tags: ['Budget'],
      status: 'published',
    });
    assert.equal(res.status, 201);
    await settled(site.db);
  });

  after(async () => {
    await site?.close();
  });

  const publicPaths = (month: string) => [
    '/',
    '/articles',
    `/articles/${month}`,
    '/sections/news',
    `/sections/news/${month}`,
    '/tags/budget',
    `/tags/budget/${month}`,
    '/feeds/site.rss.xml',
    '/feeds/site.atom.xml',
    '/feeds/sections/news.rss.xml',
    '/feeds/tags/budget.atom.xml',
    '/sitemaps/articles-0.xml',
    '/sitemaps/news.xml',
  ];

  /** Every place a marker could leak to: any stored blob, and the whole feed a new mirror replays. */
  async function leaks(marker: string): Promise<string[]> {
    const found: string[] = [];
    for (const row of await site.db('blobs').select('sha256', 'body'))
      if (Buffer.from(row.body).toString().includes(marker)) found.push(`blob ${row.sha256}`);
    const { text } = await replayFeed(site.app.url, await journalHead(site.db));
    if (text.includes(marker)) found.push('/feed?after=0');
    return found;
  }

  async function schedule(title: string, publishAt: string): Promise<{ id: number; url: string; slug: string }> {
    const res = await call(site, 'POST', '/api/articles', {
      title,
      summary: `${title} summary`,
      body: `<p>${title} body</p>`,
      section: 'news',
      tags: ['Budget'],
      publishAt,
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return { id: Number(res.json.id), url: String(res.json.url), slug: String(res.json.slug) };
  }

  it('is nowhere before its time and everywhere at its time', async () => {
    const publishAt = inFuture(site, HOUR);
    const item = await schedule('Zebracrossing budget leak', publishAt);
    await settled(site.db);
    assert.deepEqual(await leaks('Zebracrossing'), [], 'nothing public before the time');
    assert.equal(await page(site.db, item.url), undefined, 'no page at the URL');

    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', item.id, 'published');
    await settled(site.db);
    const article = await page(site.db, item.url);
    assert.equal(article?.op, 'put');
    assert.match(article!.body, /Zebracrossing budget leak body/);
    for (const path of publicPaths(monthOf(Date.parse(publishAt)))) {
      const listed = await page(site.db, path);
      assert.ok(listed?.op === 'put', `${path} is live`);
      assert.ok(listed.body.includes(item.url), `${path} links the article once the embargo lifts`);
    }
    const { text } = await replayFeed(site.app.url, await journalHead(site.db));
    assert.ok(text.includes(item.url), '/feed?after=0 names the article');
  });

  it('a moved embargo holds past the old time, a cancelled one for good', async () => {
    const moved = await schedule('Yakherder moved embargo', inFuture(site, HOUR));
    const cancelled = await schedule('Xylophone cancelled embargo', inFuture(site, HOUR));
    await settled(site.db);
    assert.equal(
      (await call(site, 'PUT', `/api/articles/${moved.id}`, { publishAt: inFuture(site, 3 * HOUR) })).status,
      200,
    );
    assert.equal((await call(site, 'PUT', `/api/articles/${cancelled.id}`, { publishAt: null })).status, 200);
    site.clock.advance(HOUR + 60_000);
    await new Promise((r) => setTimeout(r, 800));
    await settled(site.db);
    assert.deepEqual(await leaks('Yakherder'), [], 'the moved one is not out at the old time');
    assert.deepEqual(await leaks('Xylophone'), [], 'the cancelled one is not out');

    site.clock.advance(2 * HOUR);
    await waitForStatus(site.db, 'articles', moved.id, 'published');
    await settled(site.db);
    assert.equal((await page(site.db, moved.url))?.op, 'put', 'the moved one is out at its new time');
    assert.deepEqual(await leaks('Xylophone'), [], 'the cancelled one is still not out');
  });

  it('an unpublished item leaves every listing and its page becomes a tombstone', async () => {
    const res = await call(site, 'POST', '/api/articles', {
      title: 'Wombat limited offer',
      body: '<p>w</p>',
      section: 'news',
      tags: ['Budget'],
      status: 'published',
      unpublishAt: inFuture(site, HOUR),
    });
    const url = String(res.json.url);
    await settled(site.db);
    assert.match((await page(site.db, '/'))!.body, /Wombat limited offer/);
    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', Number(res.json.id), 'draft');
    await settled(site.db);
    assert.equal((await page(site.db, url))?.op, 'gone');
    for (const path of publicPaths(monthOf(site.clock.now())).filter((p) => p !== '/sitemaps/news.xml'))
      assert.ok(!(await page(site.db, path))?.body.includes(url), `${path} no longer links it`);
  });
});
