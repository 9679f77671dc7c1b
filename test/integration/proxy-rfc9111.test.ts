// The RFC 9111 checklist of issue 5 item 2 that proxy-caching.test.ts does
// not already cover: Expires, Age, every request directive, Authorization
// with public/s-maxage, invalidation of Location and Content-Location after
// an unsafe method, Accept-Encoding variants, and PURGE with its token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

describe('cache proxy: RFC 9111 details', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  const version = 1;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const body = `${req.url} v${version}`;
      if (req.method === 'POST' && path === '/comments') {
        res.writeHead(201, {
          location: '/thread',
          'content-location': `http://${req.headers['x-public-host'] ?? ''}/thread-summary`,
        });
        return void res.end('created');
      }
      if (req.method === 'DELETE') {
        res.writeHead(404);
        return void res.end('no such thing');
      }
      switch (path) {
        case '/expires':
          res.writeHead(200, { date: new Date().toUTCString(), expires: new Date(Date.now() + 100_000).toUTCString() });
          return void res.end(body);
        case '/expires-invalid':
          res.writeHead(200, { expires: '0', 'last-modified': new Date(Date.now() - 86400_000).toUTCString() });
          return void res.end(body);
        case '/aged':
          res.writeHead(200, { 'cache-control': 'max-age=60', age: '30' });
          return void res.end(body);
        case '/public':
          res.writeHead(200, { 'cache-control': 'public, max-age=100' });
          return void res.end(body);
        case '/shared':
          res.writeHead(200, { 'cache-control': 's-maxage=100' });
          return void res.end(body);
        case '/strict':
          res.writeHead(200, { 'cache-control': 'max-age=10, must-revalidate' });
          return void res.end(body);
        case '/encoded':
          res.writeHead(200, { 'cache-control': 'max-age=100', vary: 'Accept-Encoding' });
          return void res.end(`${req.headers['accept-encoding'] ?? 'identity'} ${version}`);
        default:
          res.writeHead(200, { 'cache-control': 'max-age=10' });
          res.end(body);
      }
    });
    proxy = await startTestProxy([upstream.url], { PROXY_STALE_WHILE_REVALIDATE: '0', PROXY_PURGE_TOKEN: 'sesame' });
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('keeps a response with Expires fresh until that date and no longer', async () => {
    await request(proxy.url, '/expires');
    assert.match((await request(proxy.url, '/expires')).cacheStatus, /; hit; ttl=(99|100)/);
    proxy.advance(101);
    assert.match((await request(proxy.url, '/expires')).cacheStatus, /fwd=stale/);
    assert.equal(upstream.count('/expires'), 2);
  });

  it('treats an invalid Expires as already expired, even with a Last-Modified', async () => {
    await request(proxy.url, '/expires-invalid');
    assert.match((await request(proxy.url, '/expires-invalid')).cacheStatus, /fwd=stale/);
  });

  it('counts the upstream Age against max-age and reports the total age', async () => {
    const first = await request(proxy.url, '/aged');
    assert.equal(first.headers.age, '30');
    assert.match(first.cacheStatus, /ttl=30/);
    proxy.advance(20);
    const second = await request(proxy.url, '/aged');
    assert.equal(second.headers.age, '50');
    assert.match(second.cacheStatus, /; hit; ttl=10/);
    proxy.advance(11);
    assert.match((await request(proxy.url, '/aged')).cacheStatus, /fwd=stale/);
  });

  it('serves a stale copy to a reader who allows it with max-stale, but never past must-revalidate', async () => {
    await request(proxy.url, '/lenient');
    await request(proxy.url, '/strict');
    proxy.advance(15);
    const lenient = await request(proxy.url, '/lenient', { headers: { 'cache-control': 'max-stale=60' } });
    assert.match(lenient.cacheStatus, /; hit; ttl=-5/);
    assert.equal(upstream.count('/lenient'), 1);
    const strict = await request(proxy.url, '/strict', { headers: { 'cache-control': 'max-stale' } });
    assert.match(strict.cacheStatus, /fwd=/);
    assert.equal(upstream.count('/strict'), 2);
  });

  it('goes upstream when the copy would not stay fresh for min-fresh seconds', async () => {
    await request(proxy.url, '/min-fresh');
    proxy.advance(5);
    assert.match(
      (await request(proxy.url, '/min-fresh', { headers: { 'cache-control': 'min-fresh=3' } })).cacheStatus,
      /; hit/,
    );
    assert.match(
      (await request(proxy.url, '/min-fresh', { headers: { 'cache-control': 'min-fresh=6' } })).cacheStatus,
      /fwd=request/,
    );
    assert.equal(upstream.count('/min-fresh'), 2);
  });

  it('revalidates for a reader sending no-cache or Pragma: no-cache', async () => {
    await request(proxy.url, '/reload');
    await request(proxy.url, '/reload', { headers: { 'cache-control': 'no-cache' } });
    await request(proxy.url, '/reload', { headers: { pragma: 'no-cache' } });
    assert.equal(upstream.count('/reload'), 3);
  });

  it('answers only-if-cached from memory, or 504 without asking any upstream', async () => {
    const missing = await request(proxy.url, '/offline', { headers: { 'cache-control': 'only-if-cached' } });
    assert.equal(missing.status, 504);
    assert.match(missing.cacheStatus, /detail=only-if-cached/);
    assert.equal(upstream.count('/offline'), 0);
    await request(proxy.url, '/offline');
    const cached = await request(proxy.url, '/offline', { headers: { 'cache-control': 'only-if-cached' } });
    assert.equal(cached.status, 200);
    assert.match(cached.cacheStatus, /; hit/);
    assert.equal(upstream.count('/offline'), 1);
  });

  it('does not store the answer to a request that says no-store, nor drop the copy others share', async () => {
    await request(proxy.url, '/shared-copy?x');
    const secret = await request(proxy.url, '/no-store-req', { headers: { 'cache-control': 'no-store' } });
    assert.equal(secret.status, 200);
    assert.match((await request(proxy.url, '/no-store-req')).cacheStatus, /uri-miss/);
    await request(proxy.url, '/shared-copy?x', { headers: { 'cache-control': 'no-store' } });
    assert.match((await request(proxy.url, '/shared-copy?x')).cacheStatus, /; hit/);
  });

  it('stores a response to an authorized request only when it is public or has s-maxage', async () => {
    for (const path of ['/public', '/shared']) {
      await request(proxy.url, path, { headers: { authorization: 'Bearer reader' } });
      const anonymous = await request(proxy.url, path);
      assert.match(anonymous.cacheStatus, /; hit/, path);
      assert.equal(upstream.count(path), 1, path);
    }
    await request(proxy.url, '/plain-auth', { headers: { authorization: 'Bearer reader' } });
    assert.match((await request(proxy.url, '/plain-auth')).cacheStatus, /uri-miss/);
  });

  it('invalidates the target, Location and Content-Location after a successful unsafe request, and nothing after a failed one', async () => {
    for (const path of ['/comments', '/thread', '/thread-summary', '/kept']) await request(proxy.url, path);
    // The upstream answers with an absolute Content-Location on the host the reader used.
    const post = await request(proxy.url, '/comments', {
      method: 'POST',
      body: 'hi',
      headers: { host: 'news.example', 'x-public-host': 'news.example' },
    });
    assert.equal(post.status, 201);
    for (const path of ['/comments', '/thread', '/thread-summary']) {
      assert.match((await request(proxy.url, path)).cacheStatus, /uri-miss/, path);
    }
    const failed = await request(proxy.url, '/kept', { method: 'DELETE' });
    assert.equal(failed.status, 404);
    assert.match((await request(proxy.url, '/kept')).cacheStatus, /; hit/);
  });

  it('stores one variant per coding served, however the reader spells Accept-Encoding', async () => {
    const a = await request(proxy.url, '/encoded', { headers: { 'accept-encoding': 'gzip, br' } });
    const b = await request(proxy.url, '/encoded', { headers: { 'accept-encoding': 'br,gzip;q=0.9' } });
    const c = await request(proxy.url, '/encoded', { headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    // The upstream is asked with the one coding the reader will be served.
    assert.equal(a.body, 'br 1');
    assert.equal(b.body, a.body);
    assert.equal(c.body, a.body);
    assert.match(c.cacheStatus, /; hit/);
    const gzip = await request(proxy.url, '/encoded', { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(gzip.body, 'gzip 1');
    const identity = await request(proxy.url, '/encoded', { headers: { 'accept-encoding': 'gzip;q=0' } });
    assert.equal(identity.body, 'identity 1');
    assert.equal(upstream.count('/encoded'), 3);
  });

  it('evicts a path on PURGE with the token, and refuses PURGE without it', async () => {
    await request(proxy.url, '/purged?a');
    await request(proxy.url, '/purged?b');
    const anonymous = await request(proxy.url, '/purged', { method: 'PURGE' });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /Bearer/);
    const wrong = await request(proxy.url, '/purged', { method: 'PURGE', headers: { authorization: 'Bearer sesamx' } });
    assert.equal(wrong.status, 401);
    assert.match((await request(proxy.url, '/purged?a')).cacheStatus, /; hit/);
    const purge = await request(proxy.url, '/x/../purged', {
      method: 'PURGE',
      headers: { authorization: 'Bearer sesame' },
    });
    assert.equal(purge.status, 200);
    assert.deepEqual(JSON.parse(purge.body), { purged: '/purged' });
    assert.match((await request(proxy.url, '/purged?a')).cacheStatus, /uri-miss/);
    assert.match((await request(proxy.url, '/purged?b')).cacheStatus, /uri-miss/);
    assert.equal(upstream.seen.filter((r) => r.method === 'PURGE').length, 0);
  });
});

describe('cache proxy: PURGE without a configured token', () => {
  it('answers 405 and never forwards the PURGE upstream', async () => {
    const upstream = await startUpstream((_req, res) => res.end('x'));
    const proxy = await startTestProxy([upstream.url]);
    try {
      const reply = await request(proxy.url, '/page', {
        method: 'PURGE',
        headers: { authorization: 'Bearer anything' },
      });
      assert.equal(reply.status, 405);
      assert.match(reply.body, /PROXY_PURGE_TOKEN/);
      assert.equal(upstream.seen.length, 0);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
