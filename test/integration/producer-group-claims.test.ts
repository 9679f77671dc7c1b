// Which saves a render group closes (producer/render-claims.ts settleClaim,
// docs/design.md "Publish path"): only rows still its own, so a producer
// whose lease lapsed cannot close saves another producer claimed since; and
// a page a whole group shares that fails for good fails only its culprit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { dbNowMs } from '../../common/db/db-time';
import { createRenderJobHandler, recordFailure } from '../../producer/render-job';
import { CLAIM_LEASE_MS, claimGroup } from '../../producer/render-claims';
import { renderGroup } from '../../producer/render-group';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { page, save, Site, startSite } from './producer-helpers';

const sites: Site[] = [];

after(async () => {
  for (const s of sites) await s.close().catch(() => undefined);
});

/** Ends the claim on `rows` as if its lease had run out: claimed_until moved a lease back. */
async function lapse(s: Site, rows: number[]): Promise<void> {
  await s
    .db('outbox')
    .whereIn('id', rows)
    .update({ claimed_until: s.db.raw('claimed_until - ?', [CLAIM_LEASE_MS + 1000]) });
}

describe('producer: render claims', () => {
  it('a group whose lease lapsed and was claimed again closes none of the saves now claimed by another producer', async () => {
    const s = await startSite('claimlapse', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    const saved = await save(s, 'POST', '/api/articles', {
      title: 'Lease story',
      body: '<p>Body</p>',
      section: 'news',
      status: 'published',
    });
    const renderer = createRenderer(siteInfoOf(s.config));
    const t0 = Date.now();
    const a = await claimGroup(s.db, { maxItems: 10 });
    assert.equal(a.items.length, 1);
    // A's lease lapses; B claims the same saves.
    await lapse(s, a.rows);
    const b = await claimGroup(s.db, { maxItems: 10 });
    assert.deepEqual(b.rows, a.rows);

    const late = await renderGroup({ db: s.db, renderer, now: () => t0 + CLAIM_LEASE_MS + 2 }, a);
    assert.equal(late.saves, 0, 'A closed none of B’s saves');
    const open = await s.db('outbox').whereIn('id', a.rows).whereNull('done_at').select('claimed_by');
    assert.deepEqual(
      open.map((r) => r.claimed_by),
      a.rows.map(() => b.token),
      'the saves are still open and B’s',
    );

    const done = await renderGroup({ db: s.db, renderer, now: () => t0 + CLAIM_LEASE_MS + 3 }, b);
    assert.equal(done.saves, a.rows.length);
    assert.equal(Number((await s.db('outbox').whereNull('done_at').count({ n: '*' }))[0].n), 0);
    assert.equal((await page(s.db, saved.url))?.op, 'put');
  });
});

describe('producer: leases by the database clock', () => {
  it('a producer whose clock runs a lease ahead takes no live claim, and the lease ends by the database clock', async () => {
    const s = await startSite('claimskew', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    const saved = await save(s, 'POST', '/api/articles', {
      title: 'Skew story',
      body: '<p>x</p>',
      status: 'published',
    });
    const a = await claimGroup(s.db, { maxItems: 10 });
    assert.equal(a.items.length, 1);
    const [{ until }] = await s.db('outbox').whereIn('id', a.rows).select({ until: 'claimed_until' });
    const [{ dbNow }] = await s.db.select({ dbNow: dbNowMs(s.db) });
    assert.ok(
      Math.abs(Number(until) - Number(dbNow) - CLAIM_LEASE_MS) < 5_000,
      `the lease ends CLAIM_LEASE_MS after the database's now (${until} vs ${dbNow})`,
    );
    let groups = 0;
    const ahead = createRenderJobHandler({
      db: s.db,
      renderer: createRenderer({ name: s.config.siteName, publicUrl: s.config.publicUrl }),
      notifier: createMemoryNotifier(),
      logger: createLogger('silent', 'test'),
      registry: new Registry(),
      now: () => Date.now() + 10 * CLAIM_LEASE_MS,
      onGroup: () => (groups += 1),
    });
    await ahead({ topic: 'article', itemId: saved.id, outboxId: 0 });
    assert.equal(groups, 0, 'the skewed producer rendered nothing');
    const rows = await s.db('outbox').whereIn('id', a.rows).select('claimed_by', 'done_at');
    assert.deepEqual(
      rows.map((r) => [r.claimed_by, r.done_at]),
      a.rows.map(() => [a.token, null]),
      'the saves are still A’s and open',
    );
  });
});

describe('producer: a failure reported after the lease lapsed', () => {
  it('records nothing and closes none of the saves another producer claimed since', async () => {
    const s = await startSite('claimfail', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    await save(s, 'POST', '/api/articles', { title: 'Failing story', body: '<p>x</p>', status: 'published' });
    const a = await claimGroup(s.db, { maxItems: 10 });
    await lapse(s, a.rows);
    const b = await claimGroup(s.db, { maxItems: 10 });
    assert.deepEqual(b.rows, a.rows);
    assert.equal(await recordFailure(s.db, Date.now(), a, a.items[0], new Error('template error')), false);
    assert.equal(Number((await s.db('render_failures').count({ n: '*' }))[0].n), 0, 'no failure recorded');
    const rows = await s.db('outbox').whereIn('id', a.rows).select('claimed_by', 'done_at');
    assert.deepEqual(
      rows.map((r) => [r.claimed_by, r.done_at]),
      a.rows.map(() => [b.token, null]),
      'still open and B’s',
    );
    // B's own failure is recorded and closes its saves.
    assert.equal(await recordFailure(s.db, Date.now(), b, b.items[0], new Error('template error')), true);
    assert.equal(Number((await s.db('render_failures').count({ n: '*' }))[0].n), 1);
    assert.equal(Number((await s.db('outbox').whereNull('done_at').count({ n: '*' }))[0].n), 0);
  });
});

describe('producer: a shared page that fails for good', () => {
  it('an index template error in a group reports only the item whose index fails; the others are published', async () => {
    const s = await startSite('groupculprit', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-templates-'));
    fs.cpSync(path.resolve(__dirname, '../../producer/templates'), broken, { recursive: true });
    const index = path.join(broken, 'index.njk');
    // Fails only on the tag page of the tag "Boom".
    fs.writeFileSync(
      index,
      fs
        .readFileSync(index, 'utf8')
        .replace('<h1>{{ title }}</h1>', '{% if title == "Boom" %}{{ nosuchfn() }}{% endif %}<h1>{{ title }}</h1>'),
    );
    try {
      const body = (title: string, tags: string[]) => ({ title, body: '<p>x</p>', status: 'published', tags });
      const fine = await save(s, 'POST', '/api/articles', body('Fine one', ['Calm']));
      const boom = await save(s, 'POST', '/api/articles', body('Boom one', ['Boom']));
      const other = await save(s, 'POST', '/api/articles', body('Other one', []));
      const handler = createRenderJobHandler({
        db: s.db,
        renderer: createRenderer(siteInfoOf(s.config), broken),
        notifier: createMemoryNotifier(),
        logger: createLogger('silent', 'test'),
        registry: new Registry(),
        groupItems: 500,
      });
      await handler({ topic: 'article', itemId: fine.id, outboxId: 0 });
      const failed = await s.db('render_failures').select('item_id');
      assert.deepEqual(
        failed.map((r) => Number(r.item_id)),
        [boom.id],
        'only the culprit is reported',
      );
      assert.equal((await page(s.db, fine.url))?.op, 'put');
      assert.equal((await page(s.db, other.url))?.op, 'put');
      assert.equal(Number((await s.db('outbox').whereNull('done_at').count({ n: '*' }))[0].n), 0);
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('producer: stopping', () => {
  it('a render job claims no further group once the producer is stopping; the saves stay waiting', async () => {
    const s = await startSite('groupstop', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    for (const title of ['First', 'Second', 'Third'])
      await save(s, 'POST', '/api/articles', { title, body: '<p>x</p>', status: 'published' });
    let stopping = false;
    let groups = 0;
    const handler = createRenderJobHandler({
      db: s.db,
      renderer: createRenderer(siteInfoOf(s.config)),
      notifier: createMemoryNotifier(),
      logger: createLogger('silent', 'test'),
      registry: new Registry(),
      groupItems: 1,
      // SIGTERM arrives while the first group renders.
      onGroup: () => {
        groups += 1;
        stopping = true;
      },
      stopping: () => stopping,
    });
    await handler({ topic: 'article', itemId: 0, outboxId: 0 });
    assert.equal(groups, 1, 'the group in flight finished, no other was claimed');
    const waiting = await s.db('outbox').whereNull('done_at').select('claimed_by');
    assert.equal(waiting.length, 2);
    assert.ok(
      waiting.every((r) => r.claimed_by === null),
      'unclaimed, for the next producer',
    );
  });
});
