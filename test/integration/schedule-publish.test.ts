// Scheduled publish and take-down on real MariaDB and Redis (bull delayed
// jobs), with only the clock faked: a change applies at its time, exactly
// once, through the save path (revision, outbox row), and survives a
// restart, a lost Redis and a second app; a cancelled one never applies.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { sharedRedisUrl } from '../harness/shared';
import { waitFor } from '../harness/wait';
import {
  call,
  inFuture,
  scheduledRevisions,
  ScheduledSite,
  startScheduledSite,
  statusOf,
  waitForStatus,
} from './schedule-helpers';

const HOUR = 3600_000;
const settle = () => new Promise((r) => setTimeout(r, 800));

describe('scheduled publish and unpublish', () => {
  let site: ScheduledSite;
  let redis: Redis;

  before(async () => {
    const url = await sharedRedisUrl();
    site = await startScheduledSite('schedule', url);
    redis = new Redis(url);
  });

  after(async () => {
    redis?.disconnect();
    await site?.close();
  });

  async function scheduleArticle(title: string, fields: Record<string, unknown>): Promise<number> {
    const res = await call(site, 'POST', '/api/articles', { title, body: '<p>x</p>', section: 'news', ...fields });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return Number(res.json.id);
  }

  it('publishes a scheduled article at its time, once, with the schedule as its publication date', async () => {
    const publishAt = inFuture(site, HOUR);
    const id = await scheduleArticle('Budget at nine', { publishAt });
    const got = await call(site, 'GET', `/api/articles/${id}`);
    assert.equal(got.json.status, 'draft');
    assert.equal(got.json.publishAt, Date.parse(publishAt));
    await settle();
    assert.equal(await statusOf(site.db, 'articles', id), 'draft', 'nothing happens before the time');

    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', id, 'published');
    const row = await site.db('articles').where({ id }).first();
    assert.equal(Number(row.published_at), Date.parse(publishAt), 'the schedule sets the first publication date');
    assert.equal(row.publish_at, null, 'the due change is cleared with it');
    await settle();
    assert.equal(await scheduledRevisions(site.db, 'article', id, 'publish'), 1, 'applied exactly once');
    const outbox = await site.db('outbox').where({ topic: 'article', item_id: id });
    assert.equal(outbox.length, 2, 'the create and the scheduled publication each owe a render');
  });

  it('unpublishes a published article at its time', async () => {
    const id = await scheduleArticle('Offer ends', { status: 'published', unpublishAt: inFuture(site, 2 * HOUR) });
    const publishedAt = Number((await site.db('articles').where({ id }).first()).published_at);
    site.clock.advance(HOUR);
    await settle();
    assert.equal(await statusOf(site.db, 'articles', id), 'published');
    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', id, 'draft');
    const row = await site.db('articles').where({ id }).first();
    assert.equal(row.unpublish_at, null);
    assert.equal(Number(row.published_at), publishedAt, 'the first publication date is kept');
    await settle();
    assert.equal(await scheduledRevisions(site.db, 'article', id, 'unpublish'), 1);
  });

  it('a cancelled or moved publication does not apply at the old time', async () => {
    const cancelled = await scheduleArticle('Pulled story', { publishAt: inFuture(site, HOUR) });
    const moved = await scheduleArticle('Moved story', { publishAt: inFuture(site, HOUR) });
    assert.equal((await call(site, 'PUT', `/api/articles/${cancelled}`, { publishAt: null })).status, 200);
    const later = inFuture(site, 3 * HOUR);
    assert.equal((await call(site, 'PUT', `/api/articles/${moved}`, { publishAt: later })).status, 200);
    site.clock.advance(HOUR + 60_000);
    await settle();
    assert.equal(await statusOf(site.db, 'articles', cancelled), 'draft');
    assert.equal(await statusOf(site.db, 'articles', moved), 'draft');
    assert.equal(await scheduledRevisions(site.db, 'article', cancelled, 'publish'), 0);
    site.clock.advance(2 * HOUR);
    await waitForStatus(site.db, 'articles', moved, 'published');
    assert.equal(await statusOf(site.db, 'articles', cancelled), 'draft');
  });

  it('an event is scheduled the same way', async () => {
    const res = await call(site, 'POST', '/api/events', {
      title: 'Open day',
      body: '<p>x</p>',
      startsAt: inFuture(site, 48 * HOUR),
      publishAt: inFuture(site, HOUR),
      unpublishAt: inFuture(site, 72 * HOUR),
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = Number(res.json.id);
    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'events', id, 'published');
    site.clock.advance(71 * HOUR);
    await waitForStatus(site.db, 'events', id, 'draft');
  });

  it('a publication falling due while the app is down applies once at the next start', async () => {
    const id = await scheduleArticle('Overnight story', { publishAt: inFuture(site, HOUR) });
    await site.app.close();
    site.clock.advance(2 * HOUR);
    await settle();
    assert.equal(await statusOf(site.db, 'articles', id), 'draft', 'nobody applied it while the app was down');
    await site.restartApp();
    await waitForStatus(site.db, 'articles', id, 'published');
    await settle();
    assert.equal(await scheduledRevisions(site.db, 'article', id, 'publish'), 1);
  });

  it('the bull job lost with Redis is re-armed from the database, and the change applies once', async () => {
    const publishAt = inFuture(site, HOUR);
    const id = await scheduleArticle('Redis lost', { publishAt });
    const queueKeys = `bull:${site.config.redisPrefix}-schedule:*`;
    const jobKey = `bull:${site.config.redisPrefix}-schedule:at-${Date.parse(publishAt)}`;
    await waitFor(async () => (await redis.exists(jobKey)) === 1, { what: 'the delayed job for the instant' });
    // Redis loses everything the scheduler keeps there (a FLUSHALL of its keys, as a failover to an empty Redis).
    const keys = await redis.keys(queueKeys);
    assert.ok(keys.length > 0);
    await redis.del(...keys);
    assert.equal(await redis.exists(jobKey), 0);
    await waitFor(async () => (await redis.exists(jobKey)) === 1, { what: 'the re-check re-armed the job' });
    await redis.del(...(await redis.keys(queueKeys)));
    site.clock.advance(HOUR);
    await waitForStatus(site.db, 'articles', id, 'published');
    await settle();
    assert.equal(await scheduledRevisions(site.db, 'article', id, 'publish'), 1);
  });

  it('two apps on one database apply a due change once', async () => {
    const second = {
      ...site,
      app: await (await import('../../app/main')).startApp(site.config, { now: site.clock.now }),
    };
    try {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await scheduleArticle(`Race ${i}`, { publishAt: inFuture(site, HOUR) }));
      site.clock.advance(HOUR);
      for (const id of ids) await waitForStatus(site.db, 'articles', id, 'published');
      await settle();
      for (const id of ids) assert.equal(await scheduledRevisions(site.db, 'article', id, 'publish'), 1);
    } finally {
      await second.app.close();
    }
  });

  it('the delayed job itself wakes the scheduler at the time (no re-check in between)', async () => {
    const slow = await startScheduledSite('schedule-bull', await sharedRedisUrl(), {
      env: { SCHEDULE_RECHECK_MS: '600000' },
    });
    try {
      const res = await call(slow, 'POST', '/api/articles', {
        title: 'On the dot',
        body: '<p>x</p>',
        publishAt: inFuture(slow, 1500),
      });
      assert.equal(res.status, 201);
      const id = Number(res.json.id);
      assert.equal(await statusOf(slow.db, 'articles', id), 'draft');
      await waitForStatus(slow.db, 'articles', id, 'published');
    } finally {
      await slow.close();
    }
  });

  it('refuses bad schedules with a 4xx naming the field, and changes nothing', async () => {
    const published = await scheduleArticle('Already out', { status: 'published' });
    const before = await site.db('articles').count({ n: '*' });
    const revisions = await site.db('revisions').count({ n: '*' });
    const cases: [string, 'POST' | 'PUT', string, Record<string, unknown>, number, string][] = [
      ['no offset', 'POST', '/api/articles', { publishAt: '2030-01-01T09:00:00' }, 400, 'publishAt'],
      ['no offset (unpublish)', 'POST', '/api/articles', { unpublishAt: '2030-01-01T09:00' }, 400, 'unpublishAt'],
      ['not a date', 'POST', '/api/articles', { publishAt: 'tomorrow' }, 400, 'publishAt'],
      ['not a real day', 'POST', '/api/articles', { publishAt: '2030-02-30T09:00:00Z' }, 400, 'publishAt'],
      ['past publishAt', 'POST', '/api/articles', { publishAt: inFuture(site, -60_000) }, 400, 'publishAt'],
      ['past unpublishAt', 'POST', '/api/articles', { unpublishAt: inFuture(site, -1) }, 400, 'unpublishAt'],
      [
        'unpublishAt before publishAt',
        'POST',
        '/api/articles',
        { publishAt: inFuture(site, 2 * HOUR), unpublishAt: inFuture(site, HOUR) },
        400,
        'unpublishAt',
      ],
      [
        'scheduled and published at once',
        'POST',
        '/api/articles',
        { publishAt: inFuture(site, HOUR), status: 'published' },
        400,
        'publishAt',
      ],
      ['future publishedAt', 'POST', '/api/articles', { publishedAt: inFuture(site, HOUR) }, 400, 'publishedAt'],
      [
        'scheduling a published article',
        'PUT',
        `/api/articles/${published}`,
        { publishAt: inFuture(site, HOUR) },
        409,
        'publishAt',
      ],
      [
        'no offset on an update',
        'PUT',
        `/api/articles/${published}`,
        { unpublishAt: '2030-01-01T09:00:00' },
        400,
        'unpublishAt',
      ],
      [
        'event unpublishAt before publishAt',
        'POST',
        '/api/events',
        { startsAt: inFuture(site, 3 * HOUR), publishAt: inFuture(site, 2 * HOUR), unpublishAt: inFuture(site, HOUR) },
        400,
        'unpublishAt',
      ],
      [
        'event without offset',
        'POST',
        '/api/events',
        { startsAt: inFuture(site, HOUR), publishAt: '2030-01-01 09:00' },
        400,
        'publishAt',
      ],
    ];
    for (const [what, method, path, fields, status, field] of cases) {
      const body = method === 'POST' ? { title: `Bad ${what}`, body: '<p>x</p>', ...fields } : fields;
      const res = await call(site, method, path, body);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error?.field, field, what);
    }
    const onUpdate = await scheduleArticle('Later', { publishAt: inFuture(site, 2 * HOUR) });
    const res = await call(site, 'PUT', `/api/articles/${onUpdate}`, { unpublishAt: inFuture(site, HOUR) });
    assert.equal(res.status, 400, 'an unpublishAt before the stored publishAt');
    assert.equal(res.json.error?.field, 'unpublishAt');
    const articles = Number((await site.db('articles').count({ n: '*' }))[0].n);
    assert.equal(articles, Number(before[0].n) + 1, 'only the valid create was written');
    assert.equal(
      Number((await site.db('revisions').count({ n: '*' }))[0].n),
      Number(revisions[0].n) + 1,
      'only the valid create was recorded',
    );
    const untouched = await site.db('articles').where({ id: published }).first();
    assert.equal(untouched.publish_at, null);
    assert.equal(untouched.unpublish_at, null, 'a refused update changed nothing');
  });

  it('back-dates the first publication date', async () => {
    const id = await scheduleArticle('From the archive', {
      status: 'published',
      publishedAt: '2019-05-01T08:00:00+02:00',
    });
    const row = await site.db('articles').where({ id }).first();
    assert.equal(Number(row.published_at), Date.parse('2019-05-01T06:00:00Z'));
  });
});
