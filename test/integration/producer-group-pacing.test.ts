// Burst pacing (producer/burst-pacing.ts, docs/design.md "Publish path"):
// while another producer renders a group, the next group waits until it can
// be full (or its oldest save has waited PRODUCER_BURST_WAIT_MS), so a burst
// journals its listings once per large group; a save in a quiet moment is
// rendered at once.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import type { GroupResult } from '../../producer/render-group';
import { claimGroup } from '../../producer/render-claims';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { page, save, Site, startSite } from './producer-helpers';

const sites: Site[] = [];

after(async () => {
  for (const s of sites) await s.close().catch(() => undefined);
});

/** A producer's render job handler that waits up to a minute for a fuller group. */
function patientProducer(s: Site, groups: GroupResult[], groupItems: number) {
  return createRenderJobHandler({
    db: s.db,
    renderer: createRenderer({ name: s.config.siteName, publicUrl: s.config.publicUrl }),
    notifier: createMemoryNotifier(),
    logger: createLogger('silent', 'test'),
    registry: new Registry(),
    groupItems,
    burstWaitMs: 60_000,
    onGroup: (g) => groups.push(g),
  });
}

const article = (title: string) => ({ title, body: '<p>x</p>', section: 'news', status: 'published' });

describe('producer: burst pacing', () => {
  it('a save in a quiet moment is rendered at once, whatever the burst wait', async () => {
    const s = await startSite('pacequiet', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    const saved = await save(s, 'POST', '/api/articles', article('Quiet story'));
    const groups: GroupResult[] = [];
    // With a minute's wait, a wait here would outlast the test's own timeout.
    await patientProducer(s, groups, 200)({ topic: 'article', itemId: saved.id, outboxId: 0 });
    assert.equal(groups.length, 1);
    assert.equal((await page(s.db, saved.url))?.op, 'put');
  });

  it('while another producer renders a group, the saves arriving meanwhile are rendered as one full group', async () => {
    const s = await startSite('paceburst', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    await save(s, 'POST', '/api/articles', article('Story 0'));
    // Another producer holds a live claim: a burst is being rendered.
    const other = await claimGroup(s.db, { maxItems: 10 });
    assert.equal(other.items.length, 1);
    const burst = [await save(s, 'POST', '/api/articles', article('Story 1'))];
    const groups: GroupResult[] = [];
    const job = patientProducer(s, groups, 5)({ topic: 'article', itemId: burst[0].id, outboxId: 0 });
    for (let i = 2; i <= 5; i++) burst.push(await save(s, 'POST', '/api/articles', article(`Story ${i}`)));
    await job;
    assert.deepEqual(
      groups.map((g) => g.items),
      [5],
      'one group took the five saves of the burst',
    );
    for (const saved of burst) assert.equal((await page(s.db, saved.url))?.op, 'put');
  });
});
