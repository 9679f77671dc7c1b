// Readers' change-feed streams through the proxy: relayed as they arrive,
// never cached, and bounded overall and per client address.
import assert from 'node:assert/strict';
import http, { type ClientRequest, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request, sleep, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

interface Stream {
  status: number;
  text: string;
  req: ClientRequest;
}

/** Opens `GET /feed?after=0` from a given local address; resolves once the head has arrived. */
function openFeed(base: string, localAddress = '127.0.0.1'): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${base}/feed?after=0`,
      { agent: false, localAddress, headers: { accept: 'text/event-stream' } },
      (res) => {
        const stream: Stream = { status: res.statusCode ?? 0, text: '', req };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (stream.text += chunk));
        res.on('error', () => undefined);
        resolve(stream);
      },
    );
    req.on('error', reject);
  });
}

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('cache proxy: change-feed streams of readers', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  const feeds: ServerResponse[] = [];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/feed')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(`event: hello\ndata: ${JSON.stringify({ epoch: 1, head: 3 })}\n\n`);
        feeds.push(res);
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('page');
    });
    proxy = await startTestProxy([upstream.url], {
      PROXY_FEED_MAX_STREAMS: '3',
      PROXY_FEED_MAX_STREAMS_PER_ADDRESS: '2',
      // Shorter than the silence below: a feed stream must not be held to it.
      PROXY_UPSTREAM_TIMEOUT_MS: '300',
    });
  });

  after(async () => {
    for (const feed of feeds) feed.end();
    await proxy.close();
    await upstream.close();
  });

  it('relays each reader its own stream as events arrive, through silences longer than the upstream timeout', async () => {
    const first = await openFeed(proxy.url);
    assert.equal(first.status, 200);
    await until(() => first.text.includes('event: hello'));
    await sleep(800);
    feeds.at(-1)?.write('event: batch\nid: 4\ndata: {}\n\n');
    await until(() => first.text.includes('id: 4'));
    first.req.destroy();
    const second = await openFeed(proxy.url);
    await until(() => second.text.includes('event: hello'));
    second.req.destroy();
    // Never shared or cached: each reader reached the upstream.
    assert.equal(upstream.seen.filter((r) => r.url.startsWith('/feed')).length, 2);
  });

  it('refuses streams beyond PROXY_FEED_MAX_STREAMS_PER_ADDRESS with 429 and beyond PROXY_FEED_MAX_STREAMS with 503, and frees a slot when a reader leaves', async () => {
    // The first test's streams are gone once their close reaches the proxy.
    await sleep(100);
    const a1 = await openFeed(proxy.url);
    const a2 = await openFeed(proxy.url);
    const a3 = await openFeed(proxy.url);
    assert.deepEqual([a1.status, a2.status, a3.status], [200, 200, 429]);
    const b1 = await openFeed(proxy.url, '127.0.0.2');
    assert.equal(b1.status, 200);
    const c1 = await openFeed(proxy.url, '127.0.0.3');
    assert.equal(c1.status, 503);
    const metrics = await request(proxy.internalUrl, '/metrics');
    assert.match(metrics.body, /hyperstatic_proxy_feed_streams 3\b/);
    assert.match(metrics.body, /hyperstatic_proxy_feed_streams_refused_total\{reason="per-address"\} 1\b/);
    assert.match(metrics.body, /hyperstatic_proxy_feed_streams_refused_total\{reason="total"\} 1\b/);
    // Ordinary pages are not held to the feed's limits.
    assert.equal((await request(proxy.url, '/page')).status, 200);
    a1.req.destroy();
    await sleep(100);
    const a4 = await openFeed(proxy.url);
    assert.equal(a4.status, 200);
    for (const s of [a2, a4, b1]) s.req.destroy();
  });
});
