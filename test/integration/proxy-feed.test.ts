// Instant invalidation: the proxy follows the change feed and evicts every
// path of every batch, so a publish is visible before any TTL runs out.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FeedBatch } from '../../common/feed-format';
import { request, sleep, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function batch(seq: number, paths: string[]): FeedBatch {
  return {
    epoch: 1,
    batch: seq,
    entries: paths.map((path, i) => ({
      seq: seq + i,
      epoch: 1,
      batch: seq,
      path,
      op: 'put',
      sha256: 'a'.repeat(64),
      size: 1,
      contentType: 'text/html',
      lastModified: Date.now(),
      kind: 'article',
    })),
  };
}

describe('cache proxy: change feed eviction', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  let stream: ServerResponse | undefined;
  const feedAfter: string[] = [];
  let version = 1;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/feed')) {
        feedAfter.push(new URL(req.url, 'http://x').searchParams.get('after') ?? '');
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(`event: hello\ndata: ${JSON.stringify({ epoch: 1, head: 41 })}\n\n`);
        // History the proxy must not need: it is at or below the hello's head.
        res.write(`event: batch\nid: 41\ndata: ${JSON.stringify(batch(41, ['/news/old']))}\n\n`);
        stream = res;
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=3600' });
      res.end(`${req.url} v${version}`);
    });
    proxy = await startTestProxy([upstream.url], { PROXY_FEED_URL: upstream.url });
    await until(() => stream !== undefined);
  });

  after(async () => {
    stream?.end();
    await proxy.close();
    await upstream.close();
  });

  it('evicts every path of a batch the moment it arrives', async () => {
    await request(proxy.url, '/news/a');
    await request(proxy.url, '/news/a?page=2');
    await request(proxy.url, '/news/b');
    await request(proxy.url, '/news/old');
    version = 2;
    stream?.write(`event: batch\nid: 43\ndata: ${JSON.stringify(batch(42, ['/news/a', '/news/b']))}\n\n`);
    await sleep(100);
    const a = await request(proxy.url, '/news/a');
    const a2 = await request(proxy.url, '/news/a?page=2');
    const b = await request(proxy.url, '/news/b');
    assert.equal(a.body, '/news/a v2');
    assert.equal(a2.body, '/news/a?page=2 v2');
    assert.equal(b.body, '/news/b v2');
    const old = await request(proxy.url, '/news/old');
    assert.equal(old.body, '/news/old v1');
    assert.match(old.cacheStatus, /hit/);
    const metrics = (await request(proxy.internalUrl, '/metrics')).body;
    assert.match(metrics, /hyperstatic_proxy_evictions_total\{[^}]*source="feed"[^}]*\} 2/);
  });

  it('resumes after the last batch it applied when the feed connection drops', async () => {
    const first = stream;
    first?.destroy();
    await until(() => stream !== first && feedAfter.length === 2, 5000);
    assert.deepEqual(feedAfter, ['0', '43']);
  });
});

describe('cache proxy: automatic feed discovery', () => {
  it('stops asking an upstream that has no change feed and keeps serving from it', async () => {
    const upstream = await startUpstream((req, res) => {
      res.writeHead(req.url?.startsWith('/feed') ? 404 : 200, {
        'content-type': 'text/plain',
        'cache-control': 'max-age=60',
      });
      res.end('plain origin');
    });
    const proxy = await startTestProxy([upstream.url], { PROXY_FEED_URL: '' });
    try {
      await until(() => upstream.seen.some((r) => r.url.startsWith('/feed')));
      await sleep(1500);
      assert.equal(upstream.seen.filter((r) => r.url.startsWith('/feed')).length, 1);
      assert.equal((await request(proxy.url, '/page')).body, 'plain origin');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('cache proxy: what was cached before the feed answered', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  let stream: ServerResponse | undefined;
  let releaseFeed: () => void = () => undefined;
  const feedReleased = new Promise<void>((resolve) => (releaseFeed = resolve));
  let version = 1;

  before(async () => {
    upstream = await startUpstream(async (req, res) => {
      if (req.url?.startsWith('/feed')) {
        await feedReleased;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(`event: hello\ndata: ${JSON.stringify({ epoch: 1, head: 7 })}\n\n`);
        stream = res;
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=3600' });
      res.end(`${req.url} v${version}`);
    });
    proxy = await startTestProxy([upstream.url], { PROXY_FEED_URL: upstream.url });
  });

  after(async () => {
    releaseFeed();
    stream?.end();
    await proxy.close();
    await upstream.close();
  });

  it('is dropped on first contact, since the feed cannot say what changed before it', async () => {
    assert.equal((await request(proxy.url, '/')).body, '/ v1');
    assert.equal((await request(proxy.url, '/')).body, '/ v1', 'cached meanwhile');
    version = 2;
    releaseFeed();
    await until(() => stream !== undefined);
    await sleep(50);
    assert.equal((await request(proxy.url, '/')).body, '/ v2');
  });
});
