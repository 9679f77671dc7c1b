// Redis high availability: app and producer configured with REDIS_SENTINELS
// (no REDIS_URL) keep rendering saves, and keep announcing them, after the
// Redis master is killed and the Sentinels promote its replica.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { redisTarget } from '../../common/config';
import { createRedisNotifier, JournalNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { startSentinelCluster, SentinelCluster, MASTER_NAME } from '../harness/redis-sentinel';
import { waitFor } from '../harness/wait';
import { journalHead, page, save, settled, Site, startSite } from './producer-helpers';

describe('Redis behind Sentinels', () => {
  let cluster: SentinelCluster;
  let site: Site;
  let announcements: JournalNotifier;
  const heads: number[] = [];

  before(async () => {
    cluster = await startSentinelCluster();
    site = await startSite('sentinel', '', {
      env: { REDIS_SENTINELS: cluster.sentinels, REDIS_SENTINEL_MASTER: MASTER_NAME },
    });
    // A third party listening for journal announcements, as the mirrors' feed does.
    announcements = createRedisNotifier(
      redisTarget(site.config)!,
      createLogger('silent', 'test'),
      site.config.redisPrefix,
    );
    announcements.subscribe((head) => heads.push(head));
    // Subscribing is asynchronous: wait until an announcement of our own gets through.
    const probe = createRedisNotifier(
      redisTarget(site.config)!,
      createLogger('silent', 'test'),
      site.config.redisPrefix,
    );
    await waitFor(
      async () => {
        await probe.notify(-1);
        return heads.includes(-1);
      },
      { what: 'the test subscriber to receive announcements', intervalMs: 100 },
    );
    await probe.close();
  });
  after(async () => {
    await announcements?.close();
    await site?.close();
    await cluster?.stop();
  });

  it('renders and announces saves before and after the master is killed and its replica promoted', async () => {
    const first = await save(site, 'POST', '/api/articles', {
      title: 'Before the failover',
      body: '<p>one</p>',
      status: 'published',
    });
    await settled(site.db);
    assert.match((await page(site.db, first.url))!.body, /Before the failover/);
    const headBefore = await journalHead(site.db);
    await waitFor(() => heads.some((h) => h >= headBefore), { what: 'the announcement of the first render' });

    const oldMaster = await cluster.masterPort();
    const newMaster = await cluster.killMaster();
    assert.notEqual(newMaster, oldMaster);

    // The relay retries what Redis refused during the switch; bull retries the job.
    const second = await save(site, 'POST', '/api/articles', {
      title: 'After the failover',
      body: '<p>two</p>',
      status: 'published',
    });
    await settled(site.db, 45_000);
    assert.match((await page(site.db, second.url))!.body, /After the failover/);
    const headAfter = await journalHead(site.db);
    assert.ok(headAfter > headBefore);
    await waitFor(() => heads.some((h) => h >= headAfter), {
      what: 'the announcement of the render after the failover',
      timeoutMs: 20_000,
    });
    // And the queue runs on the promoted server.
    await waitFor(async () => ((await fetch(`${site.app.url}/readyz`)).status === 200 ? true : undefined), {
      what: "the app's /readyz to report Redis ready",
    });
  });
});
