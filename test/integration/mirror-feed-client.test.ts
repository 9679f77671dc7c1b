// common/feed-client.ts against real SSE servers: back-pressure, URL
// rotation and the epoch rule (docs/design.md, "Replication and failover").
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { followFeed, type FeedFollower } from '../../common/feed-client';
import type { FeedBatch } from '../../common/feed-format';
import { createLogger } from '../../common/logger';
import { makeBatch, startFakeOrigin, type FakeOrigin } from './mirror-fake-origin';
import { eventually, rawGet, startTestMirror, tempDir } from './mirror-helpers';

const logger = createLogger('silent', 'test');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function origin(epoch = 1): Promise<FakeOrigin> {
  const o = await startFakeOrigin({ epoch });
  cleanups.push(() => o.close());
  return o;
}

function follow(
  urls: string[],
  onBatch: (batch: FeedBatch, url: string) => Promise<void>,
  initialEpoch?: number,
): { follower: FeedFollower; cursor: { value: number } } {
  const cursor = { value: 0 };
  const follower = followFeed({
    urls,
    after: () => cursor.value,
    onBatch: async (batch, url) => {
      await onBatch(batch, url);
      cursor.value = batch.entries[batch.entries.length - 1].seq;
    },
    logger,
    reconnectMs: 10,
    initialEpoch,
  });
  cleanups.push(async () => {
    follower.close();
    await follower.done;
  });
  return { follower, cursor };
}

describe('followFeed', () => {
  test('hands batches over one at a time and reads no further until each is handled', async () => {
    const o = await origin();
    for (let i = 1; i <= 5; i++) o.publish(makeBatch(i, i, [{ path: `/p${i}/` }]));
    const seen: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const { cursor } = follow([o.url], async (batch) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 15));
      seen.push(batch.batch);
      running -= 1;
    });
    await eventually(() => assert.equal(cursor.value, 5));
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(maxRunning, 1);
    assert.deepEqual(o.feedRequests, [0]);
  });

  test('rotates past an unreachable URL', async () => {
    const dead = http.createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/a/' }]));
    const sources: string[] = [];
    const { cursor } = follow([deadUrl, o.url], async (_batch, url) => {
      sources.push(url);
    });
    await eventually(() => assert.equal(cursor.value, 1));
    assert.deepEqual(sources, [o.url]);
  });

  test('retries a failed batch from the cursor instead of skipping it', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/a/' }]));
    o.publish(makeBatch(2, 2, [{ path: '/b/' }]));
    let failures = 0;
    const { cursor } = follow([o.url], async (batch) => {
      if (batch.batch === 2 && failures++ === 0) throw new Error('disk full');
    });
    await eventually(() => assert.equal(cursor.value, 2));
    assert.deepEqual(o.feedRequests.slice(0, 2), [0, 1]);
  });

  test('refuses a server whose epoch is below one already seen and moves on', async () => {
    const current = await origin(2);
    const deposed = await origin(1);
    current.publish(makeBatch(1, 1, [{ path: '/a/', body: 'current' }], 2));
    deposed.publish(makeBatch(7, 2, [{ path: '/a/', body: 'stale' }], 1));
    const delivered: string[] = [];
    const { follower, cursor } = follow([current.url, deposed.url], async (batch, url) => {
      delivered.push(`${url === current.url ? 'current' : 'deposed'}:${batch.batch}`);
    });
    await eventually(() => assert.equal(cursor.value, 1));
    current.dropFeedConnections();
    await eventually(() => assert.ok(deposed.feedRequests.length >= 1));
    current.publish(makeBatch(2, 2, [{ path: '/b/' }], 2));
    await eventually(() => assert.equal(cursor.value, 2));
    assert.deepEqual(delivered, ['current:1', 'current:2']);
    assert.equal(follower.epoch(), 2);
  });

  test('follows a promoted origin through the older epochs of its history', async () => {
    // After a promotion the new primary's journal still holds the entries the
    // old one wrote: a mirror that was behind must replay them, then go on.
    const promoted = await origin(2);
    promoted.publish(makeBatch(1, 1, [{ path: '/a/' }], 1));
    promoted.publish(makeBatch(2, 2, [{ path: '/b/' }], 1));
    promoted.publish(makeBatch(3, 3, [{ path: '/c/' }], 2));
    const delivered: string[] = [];
    const { follower, cursor } = follow(
      [promoted.url],
      async (batch) => {
        delivered.push(`${batch.epoch}:${batch.batch}`);
      },
      1,
    );
    await eventually(() => assert.equal(cursor.value, 3));
    assert.deepEqual(delivered, ['1:1', '1:2', '2:3']);
    assert.equal(follower.epoch(), 2);
  });

  test('a newer-epoch batch taken but not applied does not hold back the older-epoch batches before it', async () => {
    // A mirror applies in a pipeline: it may take batch 2 (epoch 2) while
    // batch 1 (epoch 1) is still being applied. When batch 1 fails (a blob
    // answered 503 during the promotion), the feed resumes from the cursor
    // and sends batch 1 again: the epoch rule restarts from what was applied.
    const promoted = await origin(2);
    promoted.publish(makeBatch(1, 1, [{ path: '/a/' }], 1));
    promoted.publish(makeBatch(2, 2, [{ path: '/b/' }], 2));
    const applied = { cursor: 0, epoch: 1 };
    const taken: string[] = [];
    let failedOnce = false;
    const follower: FeedFollower = followFeed({
      urls: [promoted.url],
      after: () => applied.cursor,
      initialEpoch: 1,
      appliedEpoch: () => applied.epoch,
      logger,
      reconnectMs: 10,
      onBatch: async (batch) => {
        taken.push(`${batch.epoch}:${batch.batch}`);
        if (!failedOnce) {
          // Batch 1 is "in the pipeline"; its apply fails once batch 2 has been taken.
          if (batch.batch === 2) {
            failedOnce = true;
            follower.restart(new Error('blob answered 503'));
          }
          return;
        }
        applied.cursor = batch.entries[batch.entries.length - 1].seq;
        applied.epoch = batch.epoch;
      },
    });
    cleanups.push(async () => {
      follower.close();
      await follower.done;
    });
    await eventually(() => assert.equal(applied.cursor, 2));
    assert.deepEqual(taken, ['1:1', '2:2', '1:1', '2:2']);
  });

  test('refuses a batch that claims a newer epoch than its server', async () => {
    const o = await origin(1);
    o.publish(makeBatch(1, 1, [{ path: '/a/' }], 2));
    const delivered: number[] = [];
    const { cursor } = follow([o.url], async (batch) => {
      delivered.push(batch.batch);
    });
    await eventually(() => assert.ok(o.feedRequests.length >= 2, 'it reconnects instead of applying'));
    assert.equal(cursor.value, 0);
    assert.deepEqual(delivered, []);
  });

  test('presumes a silent connection dead and reconnects', async () => {
    let requests = 0;
    const silent = http.createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: hello\ndata: {"epoch":1,"head":0}\n\n');
      // ...and then neither batches nor pings: a half-open link.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          silent.closeAllConnections();
          silent.close(() => resolve());
        }),
    );
    const follower = followFeed({
      urls: [`http://127.0.0.1:${(silent.address() as AddressInfo).port}`],
      after: () => 0,
      onBatch: async () => undefined,
      logger,
      reconnectMs: 10,
      idleTimeoutMs: 100,
    });
    cleanups.push(async () => {
      follower.close();
      await follower.done;
    });
    await eventually(() => assert.ok(requests >= 2), 2000);
  });

  test('stops for good on close()', async () => {
    const o = await origin();
    const { follower } = follow([o.url], async () => undefined);
    await eventually(() => assert.equal(o.feedRequests.length, 1));
    follower.close();
    await follower.done;
    o.publish(makeBatch(1, 1, [{ path: '/a/' }]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(o.feedRequests.length, 1);
  });
});

describe('mirror and epochs', () => {
  test('a restarted mirror refuses an origin with an older epoch than it applied', async () => {
    const current = await origin(3);
    current.publish(makeBatch(1, 1, [{ path: '/a/', body: 'current' }], 3));
    const dataDir = tempDir('mirror-epoch');
    const first = await startTestMirror({ origins: [current.url], dataDir });
    await first.waitForCursor(1, 5000);
    await first.close();

    const deposed = await origin(2);
    deposed.publish(makeBatch(9, 2, [{ path: '/a/', body: 'stale' }], 2));
    const second = await startTestMirror({ origins: [deposed.url], dataDir });
    cleanups.push(() => second.close());
    await eventually(() => assert.ok(deposed.feedRequests.length >= 2));
    assert.equal(second.cursor(), 1);
    assert.equal((await rawGet(second.url, '/a/')).text, 'current');
    assert.deepEqual(deposed.blobRequests, []);
    const status = (await (await fetch(`${second.internalUrl}/_mirror/status`)).json()) as { lastError: string };
    assert.match(status.lastError, /epoch 2 is older than epoch 3/);
  });

  test('a mirror can follow another mirror, and a proxy-style client can follow it', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/a/', body: 'a' }]));
    const upstream = await startTestMirror({ origins: [o.url] });
    cleanups.push(() => upstream.close());
    // The downstream mirror knows only the upstream mirror: feed and blobs both come from it.
    const downstream = await startTestMirror({ origins: [upstream.url] });
    cleanups.push(() => downstream.close());
    await downstream.waitForCursor(1, 5000);
    o.publish(makeBatch(2, 2, [{ path: '/b/', body: 'b' }]));
    await downstream.waitForCursor(2, 5000);
    assert.equal((await rawGet(downstream.url, '/b/')).text, 'b');
    assert.equal(o.blobRequests.length, 2, 'the origin served each blob once, to the upstream mirror only');
  });
});
