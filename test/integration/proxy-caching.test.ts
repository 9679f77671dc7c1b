// RFC 9111 behaviour of the cache proxy against a real upstream that counts
// the requests reaching it; only the proxy's clock is fake.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { httpDate, request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

describe('cache proxy: RFC 9111 caching', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  let version = 1;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      switch (path) {
        case '/news/fresh':
          res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=100', etag: '"n1"' });
          return void res.end('fresh article');
        case '/news/etag': {
          const etag = '"e1"';
          if (req.headers['if-none-match'] === etag) {
            res.writeHead(304, { etag, 'cache-control': 'max-age=50', 'x-version': String(version) });
            return void res.end();
          }
          res.writeHead(200, { 'cache-control': 'max-age=10', etag, 'x-version': String(version) });
          return void res.end('etag body');
        }
        case '/news/lastmod': {
          const lastModified = httpDate(1000_000);
          res.writeHead(200, { 'last-modified': lastModified, date: new Date().toUTCString() });
          return void res.end('heuristic body');
        }
        case '/lang':
          res.writeHead(200, { 'cache-control': 'max-age=100', vary: 'Accept-Language' });
          return void res.end(`hello in ${req.headers['accept-language'] ?? 'none'}`);
        case '/strict':
          res.writeHead(200, { 'cache-control': 'max-age=100, must-revalidate', etag: '"s1"' });
          return void res.end('strict');
        case '/nostore':
          res.writeHead(200, { 'cache-control': 'no-store' });
          return void res.end('secret');
        case '/private':
          res.writeHead(200, { 'cache-control': 'private, max-age=100' });
          return void res.end('mine');
        case '/cookie':
          res.writeHead(200, { 'cache-control': 'max-age=100', 'set-cookie': 'session=abc' });
          return void res.end('with cookie');
        case '/form':
          res.writeHead(200, { 'cache-control': 'max-age=100' });
          return void res.end(`form v${version}`);
        case '/':
          res.writeHead(200, { 'last-modified': httpDate(365 * 86400_000) });
          return void res.end('home');
        case '/news/declared-index':
          res.writeHead(200, { 'last-modified': httpDate(365 * 86400_000), 'hyperstatic-kind': 'index' });
          return void res.end('declared index');
        case '/news/old':
          res.writeHead(200, { 'last-modified': httpDate(365 * 86400_000), 'hyperstatic-kind': 'article' });
          return void res.end('old article');
        default:
          res.writeHead(404, { 'cache-control': 'max-age=5' });
          res.end('not found');
      }
    });
    proxy = await startTestProxy([upstream.url], { PROXY_STALE_WHILE_REVALIDATE: '0' });
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  beforeEach(() => {
    version = 1;
  });

  it('answers the second request from memory after a miss', async () => {
    const first = await request(proxy.url, '/news/fresh');
    const second = await request(proxy.url, '/news/fresh');
    assert.equal(first.body, 'fresh article');
    assert.equal(second.body, 'fresh article');
    assert.equal(upstream.count('/news/fresh'), 1);
    assert.equal(first.cacheStatus, 'Hyperstatic; fwd=uri-miss; fwd-status=200; ttl=100; stored');
    assert.match(second.cacheStatus, /^Hyperstatic; hit; ttl=\d+$/);
  });

  it('reports the age of a cached copy and counts down its ttl', async () => {
    await request(proxy.url, '/news/fresh?age');
    proxy.advance(30);
    const reply = await request(proxy.url, '/news/fresh?age');
    assert.equal(reply.headers.age, '30');
    assert.equal(reply.cacheStatus, 'Hyperstatic; hit; ttl=70');
  });

  it('revalidates a stale copy with its ETag and keeps the headers of the 304', async () => {
    await request(proxy.url, '/news/etag');
    version = 2;
    proxy.advance(11);
    const reply = await request(proxy.url, '/news/etag');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'etag body');
    assert.equal(reply.headers['x-version'], '2');
    assert.equal(reply.headers['cache-control'], 'max-age=50');
    assert.match(reply.cacheStatus, /fwd=stale; fwd-status=304; ttl=50; stored/);
    const revalidation = upstream.seen.filter((r) => r.url === '/news/etag').at(-1);
    assert.equal(revalidation?.headers['if-none-match'], '"e1"');
    const after304 = await request(proxy.url, '/news/etag');
    assert.match(after304.cacheStatus, /^Hyperstatic; hit/);
    assert.equal(after304.headers['x-version'], '2');
    assert.equal(upstream.count('/news/etag'), 2);
  });

  it('answers a reader holding the current ETag with 304 from memory', async () => {
    await request(proxy.url, '/news/fresh?cond');
    const reply = await request(proxy.url, '/news/fresh?cond', { headers: { 'if-none-match': '"n1"' } });
    assert.equal(reply.status, 304);
    assert.equal(reply.body, '');
    assert.equal(reply.headers.etag, '"n1"');
    assert.match(reply.cacheStatus, /hit/);
    assert.equal(upstream.count('/news/fresh?cond'), 1);
  });

  it('answers a reader with If-Modified-Since with 304 and never forwards the condition on a fill', async () => {
    const since = new Date(Date.now() + 60_000).toUTCString();
    const reply = await request(proxy.url, '/news/lastmod?ims', { headers: { 'if-modified-since': since } });
    assert.equal(reply.status, 304);
    assert.equal(upstream.seen.find((r) => r.url === '/news/lastmod?ims')?.headers['if-modified-since'], undefined);
  });

  it('keeps heuristic freshness at a tenth of the time since Last-Modified', async () => {
    const reply = await request(proxy.url, '/news/lastmod');
    assert.match(reply.cacheStatus, /ttl=100; stored/);
    proxy.advance(99);
    assert.match((await request(proxy.url, '/news/lastmod')).cacheStatus, /hit/);
    proxy.advance(2);
    const stale = await request(proxy.url, '/news/lastmod');
    assert.match(stale.cacheStatus, /fwd=stale/);
    assert.equal(upstream.count('/news/lastmod'), 2);
    assert.ok(upstream.seen.filter((r) => r.url === '/news/lastmod').at(-1)?.headers['if-modified-since']);
  });

  it('gives index pages the short TTL however old they are, and caps articles at the maximum', async () => {
    assert.match((await request(proxy.url, '/')).cacheStatus, /ttl=60; stored/);
    assert.match((await request(proxy.url, '/news/declared-index')).cacheStatus, /ttl=60; stored/);
    assert.match((await request(proxy.url, '/news/old')).cacheStatus, /ttl=86400; stored/);
  });

  it('stores one variant per value of a Vary header', async () => {
    const en = await request(proxy.url, '/lang', { headers: { 'accept-language': 'en' } });
    const fr = await request(proxy.url, '/lang', { headers: { 'accept-language': 'fr' } });
    const enAgain = await request(proxy.url, '/lang', { headers: { 'accept-language': 'en' } });
    assert.equal(en.body, 'hello in en');
    assert.equal(fr.body, 'hello in fr');
    assert.equal(enAgain.body, 'hello in en');
    assert.match(fr.cacheStatus, /fwd=vary-miss/);
    assert.match(enAgain.cacheStatus, /hit/);
    assert.equal(upstream.count('/lang'), 2);
  });

  it('never stores no-store, private, Set-Cookie or Authorization responses', async () => {
    for (const path of ['/nostore', '/private', '/cookie']) {
      await request(proxy.url, path);
      const second = await request(proxy.url, path);
      assert.equal(upstream.count(path), 2, path);
      assert.doesNotMatch(second.cacheStatus, /hit|stored/, path);
    }
    await request(proxy.url, '/news/fresh?auth', { headers: { authorization: 'Bearer x' } });
    const anonymous = await request(proxy.url, '/news/fresh?auth');
    assert.match(anonymous.cacheStatus, /uri-miss/);
    assert.equal(upstream.count('/news/fresh?auth'), 2);
  });

  it('passes a POST with its body through and invalidates the stored copy', async () => {
    await request(proxy.url, '/form');
    version = 2;
    const post = await request(proxy.url, '/form', {
      method: 'POST',
      body: 'title=hello',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.match(post.cacheStatus, /fwd=method; fwd-status=200/);
    const seenPost = upstream.seen.find((r) => r.method === 'POST' && r.url === '/form');
    assert.equal(seenPost?.body, 'title=hello');
    const after = await request(proxy.url, '/form');
    assert.equal(after.body, 'form v2');
    assert.match(after.cacheStatus, /uri-miss/);
  });

  it('keys /a/../b and /b as one resource and asks the upstream for /b', async () => {
    await request(proxy.url, '/x/../news/fresh?norm');
    const second = await request(proxy.url, '/news/./fresh?norm');
    assert.match(second.cacheStatus, /hit/);
    assert.equal(upstream.count('/news/fresh?norm'), 1);
    assert.ok(!upstream.seen.some((r) => r.url.includes('..')));
  });

  it('ignores the client Host header for the key and sends the upstream its own', async () => {
    await request(proxy.url, '/news/fresh?host', { headers: { host: 'evil.example' } });
    const second = await request(proxy.url, '/news/fresh?host', { headers: { host: 'other.example' } });
    assert.match(second.cacheStatus, /hit/);
    assert.equal(upstream.seen.find((r) => r.url === '/news/fresh?host')?.headers.host, new URL(upstream.url).host);
  });

  it('answers HEAD from the stored GET without a body', async () => {
    await request(proxy.url, '/news/fresh?head');
    const head = await request(proxy.url, '/news/fresh?head', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('fresh article'.length));
    assert.match(head.cacheStatus, /hit/);
  });

  it('serves a byte range of a stored copy', async () => {
    await request(proxy.url, '/news/fresh?range');
    const part = await request(proxy.url, '/news/fresh?range', { headers: { range: 'bytes=0-4' } });
    assert.equal(part.status, 206);
    assert.equal(part.body, 'fresh');
    assert.equal(part.headers['content-range'], `bytes 0-4/${'fresh article'.length}`);
  });

  it('evicts every variant and query of a path at once', async () => {
    await request(proxy.url, '/lang?e=1', { headers: { 'accept-language': 'en' } });
    await request(proxy.url, '/lang?e=1', { headers: { 'accept-language': 'de' } });
    await request(proxy.url, '/lang?e=2', { headers: { 'accept-language': 'en' } });
    proxy.evict('/lang');
    for (const [query, lang] of [
      ['?e=1', 'en'],
      ['?e=1', 'de'],
      ['?e=2', 'en'],
    ]) {
      const reply = await request(proxy.url, `/lang${query}`, { headers: { 'accept-language': lang } });
      assert.doesNotMatch(reply.cacheStatus, /hit/, `${query} ${lang}`);
    }
    assert.equal(upstream.count('/lang?e=1'), 4);
    assert.equal(upstream.count('/lang?e=2'), 2);
  });

  it('serves a fresh must-revalidate response from memory and revalidates it once stale', async () => {
    await request(proxy.url, '/strict');
    assert.match((await request(proxy.url, '/strict')).cacheStatus, /hit/);
    proxy.advance(101);
    assert.match((await request(proxy.url, '/strict')).cacheStatus, /fwd=stale/);
    assert.equal(upstream.count('/strict'), 2);
  });

  it('goes to the upstream when a reader reloads with max-age=0', async () => {
    await request(proxy.url, '/news/fresh?reload');
    proxy.advance(1);
    const reload = await request(proxy.url, '/news/fresh?reload', { headers: { 'cache-control': 'max-age=0' } });
    assert.match(reload.cacheStatus, /fwd=request/);
    assert.equal(upstream.count('/news/fresh?reload'), 2);
  });

  it('caches a 404 for its explicit lifetime', async () => {
    await request(proxy.url, '/missing');
    const second = await request(proxy.url, '/missing');
    assert.equal(second.status, 404);
    assert.match(second.cacheStatus, /hit/);
  });
});
