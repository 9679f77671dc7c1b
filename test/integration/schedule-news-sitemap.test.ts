// The Google News sitemap changes with time alone: an article is listed for
// 48 hours after its publication and dropped after, re-rendered because the
// scheduler owed the render, with no save behind it. Real MariaDB, Redis
// and producer; only the clock is fake.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedRedisUrl } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { page, settled } from './producer-helpers';
import { call, ScheduledSite, startScheduledSite } from './schedule-helpers';

const HOUR = 3600_000;
const NEWS = '/sitemaps/news.xml';

describe('the news sitemap', () => {
  let site: ScheduledSite;

  before(async () => {
    site = await startScheduledSite('news-sitemap', await sharedRedisUrl(), { producer: true });
  });
  after(async () => {
    await site?.close();
  });

  it('lists an article for 48 hours after its publication and drops it after, without a save', async () => {
    const res = await call(site, 'POST', '/api/articles', {
      title: 'Storm & surge warning',
      body: '<p>s</p>',
      status: 'published',
    });
    assert.equal(res.status, 201);
    const url = String(res.json.url);
    const id = Number(res.json.id);
    await settled(site.db);
    const listed = (await page(site.db, NEWS))!.body;
    assert.ok(listed.includes(`http://localhost:8080${url}</loc>`), listed);
    assert.match(listed, /<news:title>Storm &amp; surge warning<\/news:title>/);
    assert.match(listed, /<news:language>en<\/news:language>/);
    const publishedAt = Number((await site.db('articles').where({ id }).first()).published_at);
    assert.ok(listed.includes(`<news:publication_date>${new Date(publishedAt).toISOString()}`));

    site.clock.advance(47 * HOUR);
    await new Promise((r) => setTimeout(r, 800));
    await settled(site.db);
    assert.ok((await page(site.db, NEWS))!.body.includes(url), 'still listed at 47 hours');
    const owed = (await site.db('outbox').where({ item_id: id })).length;
    const updatedAt = Number((await site.db('articles').where({ id }).first()).updated_at);

    site.clock.advance(2 * HOUR);
    await waitFor(async () => !(await page(site.db, NEWS))!.body.includes(url), { what: 'dropped after 48 hours' });
    await settled(site.db);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await site.db('outbox').where({ item_id: id })).length, owed + 1, 'one render owed for the age-out');
    assert.equal(Number((await site.db('articles').where({ id }).first()).updated_at), updatedAt, 'no save');
    assert.equal((await page(site.db, url))?.op, 'put', 'the article itself stays public');
    assert.ok((await page(site.db, '/'))!.body.includes(url), 'and on the home page');
  });
});
