// What a hostile or sloppy request cannot do to the cache proxy: climb out
// of the root, poison a key, or exhaust it with oversized requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { rawRequest, request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

describe('cache proxy: request safety', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(`page ${req.url}`);
    });
    proxy = await startTestProxy([upstream.url]);
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('resolves dot segments before the upstream sees the path', async () => {
    const reply = await rawRequest(proxy.url, 'GET /../../etc/passwd HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 200/);
    assert.equal(upstream.seen.at(-1)?.url, '/etc/passwd');
  });

  it('refuses encoded slashes and backslashes with 400 and never forwards them', async () => {
    const before = upstream.seen.length;
    for (const target of ['/a/..%2f..%2fsecret', '/a/%5c..%5csecret', '/a\\..\\secret']) {
      const reply = await rawRequest(proxy.url, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1.1 400/, target);
      assert.match(reply, /cache-status: Hyperstatic; fwd=bypass; detail=rejected/i, target);
    }
    assert.equal(upstream.seen.length, before);
  });

  it('answers 414 to an address longer than 8 KB', async () => {
    const reply = await request(proxy.url, `/${'a'.repeat(9000)}`);
    assert.equal(reply.status, 414);
  });

  it('answers 431 to request headers beyond the limit', async () => {
    const reply = await rawRequest(
      proxy.url,
      `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(20_000)}\r\nconnection: close\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1.1 431/);
  });

  it('refuses TRACE so cookies are never echoed through a shared cache', async () => {
    const reply = await request(proxy.url, '/', { method: 'TRACE' });
    assert.equal(reply.status, 405);
  });

  it('uses only path and query of an absolute-form target, so a forged host cannot poison a key', async () => {
    await rawRequest(
      proxy.url,
      'GET http://evil.example/poison HTTP/1.1\r\nhost: evil.example\r\nconnection: close\r\n\r\n',
    );
    const reply = await request(proxy.url, '/poison');
    assert.match(reply.cacheStatus, /hit/);
    assert.equal(reply.body, 'page /poison');
    assert.equal(
      upstream.seen.filter((r) => r.url === '/poison').every((r) => r.headers.host === new URL(upstream.url).host),
      true,
    );
  });

  it('puts a Cache-Status header on every response, ops endpoints included', async () => {
    for (const path of ['/healthz', '/metrics', '/readyz', '/some/page']) {
      const reply = await request(proxy.url, path);
      assert.match(reply.cacheStatus, /^Hyperstatic; /, path);
    }
  });

  it('counts hits and misses on /metrics', async () => {
    await request(proxy.url, '/counted');
    await request(proxy.url, '/counted');
    const metrics = (await request(proxy.internalUrl, '/metrics')).body;
    assert.match(metrics, /hyperstatic_proxy_cache_hits_total(\{[^}]*\})? [1-9]/);
    assert.match(metrics, /hyperstatic_proxy_cache_misses_total(\{[^}]*\})? [1-9]/);
    assert.match(metrics, /hyperstatic_proxy_upstream_up\{[^}]*\} 1/);
  });

  it('writes one structured access log line per request when enabled', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const logged = await startTestProxy([upstream.url], { PROXY_ACCESS_LOG: 'true' }, { logger });
    try {
      await request(logged.url, '/logged?q=1');
      const access = lines.filter((l) => l.log === 'access');
      assert.equal(access.length, 1);
      assert.equal(access[0].method, 'GET');
      assert.equal(access[0].url, '/logged?q=1');
      assert.equal(access[0].status, 200);
      assert.match(String(access[0].cacheStatus), /^Hyperstatic; fwd=uri-miss/);
      assert.equal(typeof access[0].ms, 'number');
      // The second request is a fresh hit, answered on the connection-level fast path: logged all the same.
      await request(logged.url, '/logged?q=1');
      const hit = lines.filter((l) => l.log === 'access')[1];
      assert.equal(hit?.status, 200);
      assert.match(String(hit?.cacheStatus), /^Hyperstatic; hit/);
    } finally {
      await logged.close();
    }
  });
});
