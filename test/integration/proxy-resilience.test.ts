// Staying up: coalescing, stale serving, failover, health and clear errors
// when nothing can be served, against real upstreams on ephemeral ports.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { waitFor } from '../harness/wait';
import {
  closedPortUrl,
  request,
  sleep,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type TestUpstream,
} from './proxy-helpers';

const running: { close(): Promise<void> }[] = [];
after(async () => {
  for (const service of running.reverse()) await service.close();
});

async function upstreamWith(handle: TestUpstream['handle']): Promise<TestUpstream> {
  const upstream = await startUpstream(handle);
  running.push(upstream);
  return upstream;
}

async function proxyFor(upstreams: string[], env: Record<string, string> = {}): Promise<TestProxy> {
  const proxy = await startTestProxy(upstreams, env);
  running.push(proxy);
  return proxy;
}

describe('cache proxy: staying up', () => {
  it('sends one upstream request for 20 concurrent readers of the same page', async () => {
    const held: (() => void)[] = [];
    const upstream = await upstreamWith((_req, res) => {
      held.push(() => {
        res.writeHead(200, { 'cache-control': 'max-age=60' });
        res.end('popular');
      });
    });
    const proxy = await proxyFor([upstream.url]);
    const pending = Promise.all(Array.from({ length: 20 }, () => request(proxy.url, '/popular')));
    // The answer waits until every reader has joined the fetch: a fixed delay is not enough under load.
    await waitFor(
      async () =>
        /hyperstatic_proxy_coalesced_waits_total\S* 19/.test((await request(proxy.internalUrl, '/metrics')).body),
      { what: '19 readers joining the fetch' },
    );
    for (const release of held) release();
    const replies = await pending;
    assert.equal(upstream.count('/popular'), 1);
    assert.ok(replies.every((r) => r.status === 200 && r.body === 'popular'));
    assert.equal(replies.filter((r) => r.cacheStatus.includes('collapsed')).length, 19);
    const metrics = await request(proxy.internalUrl, '/metrics');
    assert.match(metrics.body, /hyperstatic_proxy_coalesced_waits_total\S* 19/);
  });

  it('does not share an uncacheable response among coalesced readers', async () => {
    let n = 0;
    const upstream = await upstreamWith((_req, res) => {
      n += 1;
      const mine = n;
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'private' });
        res.end(`for reader ${mine}`);
      }, 50);
    });
    const proxy = await proxyFor([upstream.url]);
    const replies = await Promise.all(Array.from({ length: 3 }, () => request(proxy.url, '/account')));
    assert.equal(new Set(replies.map((r) => r.body)).size, 3);
    assert.equal(upstream.count('/account'), 3);
  });

  it('prefers the nearest upstream, skips it while it is down, and goes back to it once a probe succeeds', async () => {
    let nearUp = true;
    const near = await upstreamWith((_req, res) => {
      res.writeHead(nearUp ? 200 : 503, { 'cache-control': 'no-store' });
      res.end('near');
    });
    const far = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'no-store' });
      res.end('far');
    });
    const proxy = await proxyFor([near.url, far.url], { PROXY_PROBE_INTERVAL_MS: '50' });
    assert.equal((await request(proxy.url, '/n1')).body, 'near');
    assert.equal(far.count('/n1'), 0);
    nearUp = false;
    for (let i = 0; i < 3; i += 1) assert.equal((await request(proxy.url, `/n2-${i}`)).body, 'far');
    // Marked down after repeated failures: now the far one is asked first, the near one not at all.
    assert.equal((await request(proxy.url, '/n3')).body, 'far');
    assert.equal(near.count('/n3'), 0);
    nearUp = true;
    await sleep(200);
    assert.equal((await request(proxy.url, '/n4')).body, 'near');
    assert.equal(far.count('/n4'), 0);
  });

  it('serves a stale copy at once while it refreshes in the background, where the origin allows it (RFC 5861 §3)', async () => {
    let version = 1;
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=10, stale-while-revalidate=60' });
      res.end(`v${version}`);
    });
    const proxy = await proxyFor([upstream.url]);
    await request(proxy.url, '/page');
    version = 2;
    proxy.advance(20);
    const stale = await request(proxy.url, '/page');
    assert.equal(stale.body, 'v1');
    assert.equal(stale.cacheStatus, 'Hyperstatic; hit; ttl=-10; detail=stale-while-revalidate');
    await waitFor(() => upstream.count('/page') === 2, { what: 'the background refresh', timeoutMs: 5000 });
    const refreshed = await request(proxy.url, '/page');
    assert.equal(refreshed.body, 'v2');
    assert.match(refreshed.cacheStatus, /^Hyperstatic; hit/);
  });

  it('serves a stale copy when every upstream is gone, within the stale-if-error window (RFC 5861 §4)', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=3600', etag: '"a"' });
      res.end('still readable');
    });
    const proxy = await proxyFor([upstream.url]);
    await request(proxy.url, '/article');
    await upstream.close();
    proxy.advance(600);
    const stale = await request(proxy.url, '/article');
    assert.equal(stale.status, 200);
    assert.equal(stale.body, 'still readable');
    assert.equal(stale.cacheStatus, 'Hyperstatic; fwd=stale; ttl=-590; detail=stale-if-error');
    proxy.advance(3600);
    const tooOld = await request(proxy.url, '/article');
    assert.equal(tooOld.status, 502);
    assert.match(tooOld.headers['content-type'] ?? '', /text\/html/);
    assert.match(tooOld.body, /cannot be reached/);
    assert.match(tooOld.cacheStatus, /detail=no-upstream/);
  });

  it('does not serve stale when the origin said must-revalidate, whatever else allows it (RFC 9111 §4.2.4)', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, {
        'cache-control': 'max-age=10, must-revalidate, stale-while-revalidate=600, stale-if-error=3600',
      });
      res.end('strict');
    });
    const proxy = await proxyFor([upstream.url], { PROXY_GRACE_RULES: 'path=/* stale-if-error=3600' });
    await request(proxy.url, '/strict');
    await upstream.close();
    proxy.advance(20);
    assert.equal((await request(proxy.url, '/strict')).status, 502);
  });

  it('fails over to the next upstream when the first refuses connections', async () => {
    const dead = await closedPortUrl();
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('from second');
    });
    const proxy = await proxyFor([dead, upstream.url]);
    const reply = await request(proxy.url, '/x');
    assert.equal(reply.body, 'from second');
    const metrics = await request(proxy.internalUrl, '/metrics');
    assert.match(metrics.body, /hyperstatic_proxy_upstream_errors_total\{[^}]*code="HS_PROXY_UPSTREAM_UNREACHABLE"/);
  });

  it('fails over when the first upstream does not answer in time or answers 503', async () => {
    const hanging = await upstreamWith(() => undefined);
    const broken = await upstreamWith((_req, res) => {
      res.writeHead(503);
      res.end('busy');
    });
    const good = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('from third');
    });
    const proxy = await proxyFor([hanging.url, broken.url, good.url], { PROXY_UPSTREAM_TIMEOUT_MS: '200' });
    const started = Date.now();
    const reply = await request(proxy.url, '/y');
    assert.equal(reply.body, 'from third');
    assert.ok(Date.now() - started < 1500);
    assert.equal(hanging.count('/y'), 1);
    assert.equal(broken.count('/y'), 1);
  });

  it('answers 504 with a small page when the only upstream times out and nothing is stored', async () => {
    const hanging = await upstreamWith(() => undefined);
    const proxy = await proxyFor([hanging.url], { PROXY_UPSTREAM_TIMEOUT_MS: '100' });
    const reply = await request(proxy.url, '/slow');
    assert.equal(reply.status, 504);
    assert.match(reply.body, /did not answer in time/);
    assert.equal(reply.headers['cache-control'], 'no-store');
  });

  it('gives up on an upstream whose body stalls halfway, stores nothing, and asks again next time', async () => {
    let stall = true;
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '10' });
      if (stall) res.write('12345');
      else res.end('1234567890');
    });
    const proxy = await proxyFor([upstream.url], { PROXY_UPSTREAM_TIMEOUT_MS: '150' });
    const started = Date.now();
    const stalled = await request(proxy.url, '/stalls');
    // The body is read whole before anything is sent, so the reader gets a clear 502, not a truncated page.
    assert.ok(Date.now() - started < 3000);
    assert.equal(stalled.status, 502);
    assert.match(stalled.cacheStatus, /detail=no-upstream/);
    stall = false;
    const reply = await request(proxy.url, '/stalls');
    assert.equal(reply.body, '1234567890');
    assert.match(reply.cacheStatus, /fwd=uri-miss/);
  });

  it('answers 502 with a small HTML page when every upstream refuses and nothing is stored', async () => {
    const proxy = await proxyFor([await closedPortUrl(), await closedPortUrl()]);
    const reply = await request(proxy.url, '/gone');
    assert.equal(reply.status, 502);
    assert.match(reply.headers['content-type'] ?? '', /^text\/html/);
    assert.match(reply.body, /<title>502 Site temporarily unreachable<\/title>/);
    assert.match(reply.body, /cannot be reached right now/);
    assert.ok(reply.body.length < 1024, String(reply.body.length));
    assert.equal(reply.headers['cache-control'], 'no-store');
    assert.equal(reply.headers['retry-after'], '30');
    assert.match(reply.cacheStatus, /^Hyperstatic; fwd=uri-miss; detail=no-upstream/);
    // HEAD gets the same status and headers without the page.
    const head = await request(proxy.url, '/gone', { method: 'HEAD' });
    assert.equal(head.status, 502);
    assert.equal(head.body, '');
  });

  it('marks a failing upstream down, reports not ready, and brings it back after a probe', async () => {
    let healthy = false;
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(healthy ? 200 : 503, { 'cache-control': 'no-store' });
      res.end(healthy ? 'ok' : 'down');
    });
    const proxy = await proxyFor([upstream.url], { PROXY_PROBE_INTERVAL_MS: '50' });
    assert.equal((await request(proxy.url, '/readyz')).status, 200);
    // RFC 9111 §4 / RFC 9110 §15.6: the origin's own error answer reaches the reader, and counts against the upstream.
    for (let i = 0; i < 3; i += 1) {
      const failing = await request(proxy.url, '/p');
      assert.equal(failing.status, 503);
      assert.equal(failing.body, 'down');
    }
    const notReady = await request(proxy.internalUrl, '/readyz');
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /no upstream is healthy/);
    // Readers see that a check fails, not its text.
    const publicNotReady = await request(proxy.url, '/readyz');
    assert.equal(publicNotReady.status, 503);
    assert.deepEqual(JSON.parse(publicNotReady.body), { ready: false, checks: { upstreams: 'failing' } });
    healthy = true;
    await sleep(200);
    assert.equal((await request(proxy.url, '/readyz')).status, 200);
    assert.ok(upstream.count('/healthz') >= 1);
  });

  it('streams a body larger than the entry limit without storing it, and passes Range upstream', async () => {
    const big = 'x'.repeat(5000);
    const upstream = await upstreamWith((req, res) => {
      const chunked = req.url === '/chunked.mp4';
      if (req.headers.range === 'bytes=0-9') {
        res.writeHead(206, { 'content-range': 'bytes 0-9/5000', 'content-length': '10' });
        return void res.end(big.slice(0, 10));
      }
      res.writeHead(
        200,
        chunked
          ? { 'cache-control': 'max-age=60' }
          : { 'cache-control': 'max-age=60', 'content-length': String(big.length) },
      );
      if (chunked) {
        res.write(big.slice(0, 2500));
        setTimeout(() => res.end(big.slice(2500)), 20);
      } else res.end(big);
    });
    const proxy = await proxyFor([upstream.url], { PROXY_MAX_ENTRY_BYTES: '1024' });
    for (const path of ['/video.mp4', '/chunked.mp4']) {
      const first = await request(proxy.url, path);
      const second = await request(proxy.url, path);
      assert.equal(first.body, big, path);
      assert.equal(second.body, big, path);
      assert.match(second.cacheStatus, /detail=too-large/, path);
      assert.equal(upstream.count(path), 2, path);
    }
    const part = await request(proxy.url, '/video.mp4', { headers: { range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.equal(part.body, 'xxxxxxxxxx');
    assert.equal(upstream.seen.at(-1)?.headers.range, 'bytes=0-9');
  });

  it('keeps memory within the configured byte budget by evicting least recently used pages', async () => {
    const body = 'y'.repeat(300 * 1024);
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(body);
    });
    const proxy = await proxyFor([upstream.url], {
      PROXY_CACHE_BYTES: String(1024 * 1024),
      PROXY_MAX_ENTRY_BYTES: String(512 * 1024),
    });
    for (let i = 0; i < 6; i += 1) await request(proxy.url, `/page/${i}`);
    const metrics = await request(proxy.internalUrl, '/metrics');
    const bytes = Number(/hyperstatic_proxy_cache_bytes\S* (\d+)/.exec(metrics.body)?.[1]);
    assert.ok(bytes > 0 && bytes <= 1024 * 1024, String(bytes));
    assert.match((await request(proxy.url, '/page/5')).cacheStatus, /hit/);
    assert.match((await request(proxy.url, '/page/0')).cacheStatus, /uri-miss/);
  });

  it('returns the memory of dropped bodies with a full collection once PROXY_RECLAIM_BYTES of them are dropped', async () => {
    const body = 'z'.repeat(200 * 1024);
    const upstream = await upstreamWith((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(body);
    });
    const proxy = await proxyFor([upstream.url], {
      PROXY_CACHE_BYTES: String(1024 * 1024),
      PROXY_RECLAIM_BYTES: String(1024 * 1024),
    });
    const collections = async () =>
      Number(
        /hyperstatic_proxy_reclaim_collections_total\S* (\d+)/.exec(
          (await request(proxy.internalUrl, '/metrics')).body,
        )?.[1],
      );
    // Five 200 KB pages fit; the next five push five out: 1 MB dropped.
    for (let i = 0; i < 5; i += 1) await request(proxy.url, `/r/${i}`);
    assert.equal(await collections(), 0);
    for (let i = 5; i < 12; i += 1) await request(proxy.url, `/r/${i}`);
    assert.ok((await collections()) >= 1);
  });

  it('gives up on a shared fetch after the coalescing timeout with a 504, while the first reader still gets the page', async () => {
    const upstream = await upstreamWith((_req, res) => {
      // Headers at once, then a body that trickles in for longer than the joiners may wait.
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.write('slow ');
      setTimeout(() => res.end('page'), 600);
    });
    const proxy = await proxyFor([upstream.url], { PROXY_COALESCE_TIMEOUT_MS: '150' });
    const leader = request(proxy.url, '/trickle');
    await sleep(50);
    const started = Date.now();
    const joiner = await request(proxy.url, '/trickle');
    assert.equal(joiner.status, 504);
    assert.match(joiner.cacheStatus, /collapsed/);
    assert.ok(Date.now() - started < 500, `the joiner waited ${Date.now() - started} ms`);
    assert.equal((await leader).body, 'slow page');
    assert.equal(upstream.count('/trickle'), 1);
    assert.match((await request(proxy.internalUrl, '/metrics')).body, /hyperstatic_proxy_coalesce_timeouts_total\S* 1/);
  });

  it('probes a down upstream on the configured path', async () => {
    let healthy = false;
    const upstream = await upstreamWith((req, res) => {
      res.writeHead(healthy ? 200 : 503, { 'cache-control': 'no-store' });
      res.end(req.url);
    });
    const proxy = await proxyFor([upstream.url], { PROXY_PROBE_INTERVAL_MS: '50', PROXY_PROBE_PATH: '/up' });
    for (let i = 0; i < 3; i += 1) await request(proxy.url, '/p');
    healthy = true;
    await sleep(200);
    assert.equal((await request(proxy.url, '/readyz')).status, 200);
    assert.ok(upstream.count('/up') >= 1);
    assert.equal(upstream.count('/healthz'), 0);
  });

  it('serves a reader arriving after an eviction the newer page, never the fetch in flight before it', async () => {
    let version = 1;
    const upstream = await upstreamWith((_req, res) => {
      const mine = version;
      setTimeout(() => {
        res.writeHead(200, { 'cache-control': 'max-age=600' });
        res.end(`v${mine}`);
      }, 150);
    });
    const proxy = await proxyFor([upstream.url]);
    const before = request(proxy.url, '/changing');
    // Under load a fixed pause may end before the first fetch reaches the upstream.
    await waitFor(() => upstream.count('/changing') === 1, { what: 'the first fetch', intervalMs: 2 });
    version = 2;
    proxy.evict('/changing');
    const afterEviction = await request(proxy.url, '/changing');
    assert.equal(afterEviction.body, 'v2');
    assert.equal((await before).body, 'v1');
    // The older answer was not stored over the newer one.
    assert.equal((await request(proxy.url, '/changing')).body, 'v2');
    assert.equal(upstream.count('/changing'), 2);
  });
});
