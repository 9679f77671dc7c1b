// The RFC 9110/9111 details of issue 19 item 2, against a real origin on an
// ephemeral port that counts what reaches it: HTTP-dates, Age, directive
// case, the origin's own 5xx, status codes with explicit freshness, 206,
// targeted fields (RFC 9213), interim responses and Last-Modified-only
// validation.
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { rawRequest, request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

/** An RFC 850 form of a time (RFC 9110 §5.6.7), which Date#toUTCString never writes. */
function rfc850(ms: number): string {
  const d = new Date(ms);
  const day = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()];
  const [, dd, mon, yyyy, time] = d.toUTCString().split(' ');
  return `${day}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`;
}

/** A GET that also collects the interim (1xx) responses it receives. */
function requestWithInterim(
  base: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; interim: { status: number; headers: IncomingHttpHeaders }[] }> {
  return new Promise((resolve, reject) => {
    const interim: { status: number; headers: IncomingHttpHeaders }[] = [];
    const req = http.request(`${base}${path}`, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), interim }));
    });
    req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }));
    req.on('error', reject);
    req.end(method === 'POST' ? 'comment' : undefined);
  });
}

describe('cache proxy: RFC 9110/9111 details', () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;
  const lastModified = new Date(Date.now() - 86_400_000).toUTCString();

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const n = upstream.count(req.url ?? '');
      const status = /^\/status\/(\d{3})$/.exec(path)?.[1];
      if (status) {
        res.writeHead(Number(status), { 'cache-control': 'max-age=60' });
        return void res.end(`status ${status} #${n}`);
      }
      switch (path) {
        case '/expires-utc':
          res.writeHead(200, { expires: new Date(Date.now() + 3_600_000).toUTCString().replace('GMT', 'UTC') });
          return void res.end(`#${n}`);
        case '/expires-rfc850':
          res.writeHead(200, { date: rfc850(Date.now()), expires: rfc850(Date.now() + 3_600_000) });
          return void res.end(`#${n}`);
        case '/age-decimal':
          res.writeHead(200, { 'cache-control': 'max-age=60', age: '7200.0' });
          return void res.end(`#${n}`);
        case '/no-store-mixed-case':
          res.writeHead(200, { 'cache-control': 'No-StOrE, MAX-AGE=60' });
          return void res.end(`#${n}`);
        case '/upper-case':
          res.writeHead(200, { 'cache-control': 'PUBLIC, MAX-AGE=60' });
          return void res.end(`#${n}`);
        case '/error-page':
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '120' });
          return void res.end(`origin says: down for maintenance #${n}`);
        case '/error-cacheable':
          res.writeHead(500, { 'cache-control': 'max-age=30', 'content-type': 'text/plain' });
          return void res.end(`origin error #${n}`);
        case '/ranged':
          if (req.headers.range) {
            res.writeHead(206, { 'content-range': 'bytes 0-3/10', 'cache-control': 'max-age=60' });
            return void res.end('0123');
          }
          res.writeHead(200, { 'cache-control': 'max-age=60' });
          return void res.end('0123456789');
        case '/cdn':
          res.writeHead(200, { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=120' });
          return void res.end(`#${n}`);
        case '/targeted':
          res.writeHead(200, {
            'cache-control': 'max-age=5',
            'cdn-cache-control': 'max-age=600',
            'hyperstatic-cache-control': 'max-age=30',
            expires: new Date(Date.now() + 86_400_000).toUTCString(),
          });
          return void res.end(`#${n}`);
        case '/hinted':
        case '/comments':
          res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
          setTimeout(() => {
            res.writeHead(200, { 'cache-control': 'max-age=60' });
            res.end(`#${n}`);
          }, 20);
          return;
        case '/last-modified-only':
          res.writeHead(200, { 'cache-control': 'max-age=60', 'last-modified': lastModified });
          return void res.end(`#${n}`);
        case '/date-only':
          res.writeHead(200, { 'cache-control': 'max-age=60', date: new Date(Date.now() - 600_000).toUTCString() });
          return void res.end(`#${n}`);
        case '/last-modified-stale':
          if (req.headers['if-modified-since'] === lastModified) {
            res.writeHead(304, { 'cache-control': 'max-age=60' });
            return void res.end();
          }
          res.writeHead(200, { 'cache-control': 'max-age=10', 'last-modified': lastModified });
          return void res.end(`#${n}`);
        default:
          res.writeHead(404);
          res.end();
      }
    });
    proxy = await startTestProxy([upstream.url]);
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('treats an Expires that is not an HTTP-date as already expired (RFC 9110 §5.6.7, RFC 9111 §5.3)', async () => {
    await request(proxy.url, '/expires-utc');
    const second = await request(proxy.url, '/expires-utc');
    assert.match(second.cacheStatus, /fwd=stale/);
    assert.equal(upstream.count('/expires-utc'), 2);
  });

  it('honours an Expires in the obsolete RFC 850 form (RFC 9110 §5.6.7)', async () => {
    await request(proxy.url, '/expires-rfc850');
    assert.match((await request(proxy.url, '/expires-rfc850')).cacheStatus, /; hit; ttl=(3599|3600)/);
    assert.equal(upstream.count('/expires-rfc850'), 1);
  });

  it('ignores an Age that is not a non-negative integer (RFC 9111 §5.1)', async () => {
    const first = await request(proxy.url, '/age-decimal');
    assert.equal(first.headers.age, '0');
    assert.match((await request(proxy.url, '/age-decimal')).cacheStatus, /; hit; ttl=60/);
  });

  it('reads Cache-Control directive names case-insensitively (RFC 9111 §5.2)', async () => {
    await request(proxy.url, '/no-store-mixed-case');
    await request(proxy.url, '/no-store-mixed-case');
    assert.equal(upstream.count('/no-store-mixed-case'), 2, 'No-StOrE is not stored');
    await request(proxy.url, '/upper-case');
    assert.match((await request(proxy.url, '/upper-case')).cacheStatus, /; hit/);
    const reload = await request(proxy.url, '/upper-case', { headers: { 'cache-control': 'No-Cache' } });
    assert.match(reload.cacheStatus, /fwd=request/, "a reader's No-Cache goes upstream");
  });

  it("passes the origin's 5xx through with its own body and headers (RFC 9110 §15.6, RFC 9111 §3)", async () => {
    const reply = await request(proxy.url, '/error-page');
    assert.equal(reply.status, 503);
    assert.equal(reply.body, 'origin says: down for maintenance #1');
    assert.equal(reply.headers['retry-after'], '120');
    assert.match(reply.cacheStatus, /fwd=uri-miss; fwd-status=503/);
    assert.doesNotMatch(reply.cacheStatus, /no-upstream/);
    // A 5xx with explicit freshness is as storable as any other final status.
    await request(proxy.url, '/error-cacheable');
    const again = await request(proxy.url, '/error-cacheable');
    assert.equal(again.status, 500);
    assert.match(again.cacheStatus, /; hit/);
    assert.equal(upstream.count('/error-cacheable'), 1);
  });

  it('stores any final status with explicit freshness: 299, 400, 499 with max-age (RFC 9110 §15.1, RFC 9111 §3)', async () => {
    for (const status of [299, 400, 499]) {
      await request(proxy.url, `/status/${status}`);
      const second = await request(proxy.url, `/status/${status}`);
      assert.equal(second.status, status);
      assert.equal(second.body, `status ${status} #1`);
      assert.match(second.cacheStatus, /; hit/, String(status));
    }
  });

  it('does not store a 206 but serves ranges from a complete stored 200 (RFC 9111 §3.3, RFC 9110 §14)', async () => {
    const partial = await request(proxy.url, '/ranged', { headers: { range: 'bytes=0-3' } });
    assert.equal(partial.status, 206);
    assert.equal(partial.body, '0123');
    const full = await request(proxy.url, '/ranged');
    assert.match(full.cacheStatus, /fwd=uri-miss/, 'the 206 was not stored');
    const fromStore = await request(proxy.url, '/ranged', { headers: { range: 'bytes=4-6' } });
    assert.equal(fromStore.status, 206);
    assert.equal(fromStore.body, '456');
    assert.match(fromStore.cacheStatus, /; hit/);
    assert.equal(upstream.count('/ranged'), 2);
  });

  it('obeys CDN-Cache-Control over Cache-Control and passes it downstream (RFC 9213 §2.2, §3)', async () => {
    await request(proxy.url, '/cdn');
    const second = await request(proxy.url, '/cdn');
    assert.match(second.cacheStatus, /; hit; ttl=120/);
    assert.equal(second.headers['cdn-cache-control'], 'max-age=120');
    assert.equal(second.headers['cache-control'], 'no-store');
  });

  it('obeys Hyperstatic-Cache-Control over CDN-Cache-Control, Cache-Control and Expires, and strips it (RFC 9213 §2.2)', async () => {
    const first = await request(proxy.url, '/targeted');
    assert.match(first.cacheStatus, /ttl=30; stored/);
    assert.equal(first.headers['hyperstatic-cache-control'], undefined);
    const second = await request(proxy.url, '/targeted');
    assert.match(second.cacheStatus, /; hit; ttl=30/);
    assert.equal(second.headers['hyperstatic-cache-control'], undefined);
    assert.equal(second.headers['cdn-cache-control'], 'max-age=600');
    proxy.advance(31);
    assert.match((await request(proxy.url, '/targeted')).cacheStatus, /fwd=stale/);
  });

  it('relays 103 Early Hints to the reader, on a fill and on a pass-through (RFC 9110 §15.2, RFC 8297)', async () => {
    const filled = await requestWithInterim(proxy.url, '/hinted');
    assert.equal(filled.status, 200);
    assert.deepEqual(
      filled.interim.map((i) => [i.status, i.headers.link]),
      [[103, '</style.css>; rel=preload; as=style']],
    );
    const posted = await requestWithInterim(proxy.url, '/comments', 'POST');
    assert.equal(posted.status, 200);
    assert.deepEqual(
      posted.interim.map((i) => i.status),
      [103],
    );
  });

  it('sends no interim response to an HTTP/1.0 reader (RFC 9110 §15.2)', async () => {
    const raw = await rawRequest(proxy.url, 'GET /hinted?old-client HTTP/1.0\r\nHost: x\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(raw, /103 Early Hints/);
    assert.equal(upstream.count('/hinted?old-client'), 1);
  });

  it('answers If-Modified-Since against a stored Last-Modified with 304 (RFC 9110 §13.1.3)', async () => {
    await request(proxy.url, '/last-modified-only');
    for (const since of [lastModified, rfc850(Date.parse(lastModified)), new Date().toUTCString()]) {
      const reply = await request(proxy.url, '/last-modified-only', { headers: { 'if-modified-since': since } });
      assert.equal(reply.status, 304, since);
      assert.equal(reply.body, '');
    }
    for (const since of [new Date(Date.parse(lastModified) - 1000).toUTCString(), 'yesterday']) {
      const reply = await request(proxy.url, '/last-modified-only', { headers: { 'if-modified-since': since } });
      assert.equal(reply.status, 200, since);
    }
    assert.equal(upstream.count('/last-modified-only'), 1);
  });

  it('compares If-Modified-Since with the stored Date when there is no Last-Modified (RFC 9111 §4.3.2)', async () => {
    await request(proxy.url, '/date-only');
    const since = (ms: number) => ({ 'if-modified-since': new Date(Date.now() - ms).toUTCString() });
    assert.equal((await request(proxy.url, '/date-only', { headers: since(300_000) })).status, 304);
    assert.equal((await request(proxy.url, '/date-only', { headers: since(900_000) })).status, 200);
    assert.equal(upstream.count('/date-only'), 1);
  });

  it('revalidates a stale copy that has only Last-Modified and answers the reader 304 (RFC 9111 §4.3.1, RFC 9110 §13.1.3)', async () => {
    await request(proxy.url, '/last-modified-stale');
    proxy.advance(20);
    const reply = await request(proxy.url, '/last-modified-stale', { headers: { 'if-modified-since': lastModified } });
    assert.equal(reply.status, 304);
    assert.match(reply.cacheStatus, /fwd=stale; fwd-status=304/);
    const seen = upstream.seen.filter((r) => r.url === '/last-modified-stale');
    assert.equal(seen.length, 2);
    assert.equal(seen[1].headers['if-modified-since'], lastModified);
  });
});
