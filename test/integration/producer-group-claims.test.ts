// Which saves a render group closes (producer/render-claims.ts settleClaim,
// docs/design.md "Publish path"): only rows still its own, so a producer
// whose lease lapsed cannot close saves another producer claimed since.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CLAIM_LEASE_MS, claimGroup } from '../../producer/render-claims';
import { renderGroup } from '../../producer/render-group';
import { createRenderer } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { page, save, Site, startSite } from './producer-helpers';

const sites: Site[] = [];

after(async () => {
  for (const s of sites) await s.close().catch(() => undefined);
});

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
    const renderer = createRenderer({ name: s.config.siteName, publicUrl: s.config.publicUrl });
    const t0 = Date.now();
    const a = await claimGroup(s.db, { maxItems: 10, now: t0 });
    assert.equal(a.items.length, 1);
    // A's lease lapses; B claims the same saves.
    const b = await claimGroup(s.db, { maxItems: 10, now: t0 + CLAIM_LEASE_MS + 1 });
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
