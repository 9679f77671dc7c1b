// Correct by default (issue 19 item 1): a stale copy is served only where
// the origin allows it (RFC 5861 stale-while-revalidate, stale-if-error) or
// an operator's grace rule for an upstream or a path does (RFC 9111 §4.2.4),
// and Hyperstatic mirrors declare the grace that keeps the site up for days
// without them.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { etagOf, httpDate } from '../../common/http-conditional';
import { pageHeaders } from '../../mirrors/page-headers';
import { waitFor } from '../harness/wait';
import { request, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

const running: { close(): Promise<void> }[] = [];
after(async () => {
  for (const service of running.reverse()) await service.close();
});

/** An upstream answering each path with the given headers, or 503 once `down` is set. */
async function origin(headersFor: (path: string) => Record<string, string>): Promise<TestUpstream & { down: boolean }> {
  let version = 0;
  const upstream: TestUpstream & { down: boolean } = Object.assign(
    await startUpstream((req, res) => {
      if (upstream.down) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '60' });
        return void res.end('origin maintenance');
      }
      version += 1;
      res.writeHead(200, headersFor((req.url ?? '/').split('?')[0]));
      res.end(`v${version}`);
    }),
    { down: false },
  );
  running.push(upstream);
  return upstream;
}

async function proxyFor(upstreams: string[], env: Record<string, string> = {}): Promise<TestProxy> {
  const proxy = await startTestProxy(upstreams, env);
  running.push(proxy);
  return proxy;
}

describe('cache proxy: stale serving only where allowed', () => {
  it('never serves a response without freshness from memory, however it was configured before (RFC 9111 §4.2.4)', async () => {
    const upstream = await origin(() => ({ 'content-type': 'text/plain' }));
    const proxy = await proxyFor([upstream.url]);
    await request(proxy.url, '/bare');
    const second = await request(proxy.url, '/bare');
    assert.equal(second.body, 'v2');
    assert.doesNotMatch(second.cacheStatus, /hit/);
    assert.equal(upstream.count('/bare'), 2);
  });

  it('does not serve a stale copy while revalidating unless the origin allows it (RFC 9111 §4.2.4)', async () => {
    const upstream = await origin(() => ({ 'cache-control': 'max-age=10' }));
    const proxy = await proxyFor([upstream.url]);
    await request(proxy.url, '/plain');
    proxy.advance(20);
    const reply = await request(proxy.url, '/plain');
    assert.equal(reply.body, 'v2');
    assert.match(reply.cacheStatus, /fwd=stale; fwd-status=200/);
  });

  it("serves stale while revalidating for as long as the origin's stale-while-revalidate says, no longer (RFC 5861 §3)", async () => {
    const upstream = await origin(() => ({ 'cache-control': 'max-age=10, stale-while-revalidate=30' }));
    const proxy = await proxyFor([upstream.url]);
    await request(proxy.url, '/swr');
    proxy.advance(35);
    const within = await request(proxy.url, '/swr');
    assert.equal(within.body, 'v1');
    assert.equal(within.cacheStatus, 'Hyperstatic; hit; ttl=-25; detail=stale-while-revalidate');
    await waitFor(() => upstream.count('/swr') === 2, { what: 'the background refresh', timeoutMs: 5000 });
    proxy.advance(45);
    const past = await request(proxy.url, '/swr');
    assert.equal(past.body, 'v3');
    assert.match(past.cacheStatus, /fwd=stale; fwd-status=200/);
  });

  it("passes the origin's 503 through, or serves stale within the origin's stale-if-error (RFC 5861 §4)", async () => {
    const upstream = await origin((path) => ({
      'cache-control': path === '/declared' ? 'max-age=10, stale-if-error=600' : 'max-age=10',
    }));
    const proxy = await proxyFor([upstream.url]);
    await request(proxy.url, '/declared');
    await request(proxy.url, '/undeclared');
    upstream.down = true;
    proxy.advance(100);
    const stale = await request(proxy.url, '/declared');
    assert.equal(stale.status, 200);
    assert.equal(stale.body, 'v1');
    assert.equal(stale.cacheStatus, 'Hyperstatic; fwd=stale; ttl=-90; detail=stale-if-error');
    const passed = await request(proxy.url, '/undeclared');
    assert.equal(passed.status, 503);
    assert.equal(passed.body, 'origin maintenance');
    assert.equal(passed.headers['retry-after'], '60');
    assert.match(passed.cacheStatus, /fwd=stale; fwd-status=503/);
    proxy.advance(600);
    const tooOld = await request(proxy.url, '/declared');
    assert.equal(tooOld.status, 503);
    assert.equal(tooOld.body, 'origin maintenance');
    // The stored copy outlived the errors: once the origin is back it is revalidated, not lost.
    upstream.down = false;
    assert.equal((await request(proxy.url, '/declared')).status, 200);
  });

  it('serves stale for an upstream an operator named in PROXY_GRACE_RULES, and for no other (RFC 9111 §4.2.4)', async () => {
    const graced = await origin(() => ({ 'cache-control': 'max-age=10' }));
    const other = await origin(() => ({ 'cache-control': 'max-age=10' }));
    const gracedProxy = await proxyFor([graced.url], {
      PROXY_GRACE_RULES: `upstream=${graced.url}/ stale-while-revalidate=60 stale-if-error=3600`,
    });
    // The same rule names an upstream this proxy does not have: it may list it only by naming its own.
    const plainProxy = await proxyFor([other.url, graced.url], {
      PROXY_GRACE_RULES: `upstream=${graced.url} stale-while-revalidate=60 stale-if-error=3600`,
    });

    await request(gracedProxy.url, '/a');
    await request(plainProxy.url, '/a');
    gracedProxy.advance(30);
    assert.match((await request(gracedProxy.url, '/a')).cacheStatus, /hit; ttl=-20; detail=stale-while-revalidate/);
    graced.down = true;
    other.down = true;
    gracedProxy.advance(600);
    plainProxy.advance(600);
    const kept = await request(gracedProxy.url, '/a');
    assert.equal(kept.status, 200);
    assert.match(kept.cacheStatus, /detail=stale-if-error/);
    assert.equal((await request(plainProxy.url, '/a')).status, 503);
  });

  it('serves stale for a path an operator named in PROXY_GRACE_RULES, and for no other (RFC 9111 §4.2.4)', async () => {
    const upstream = await origin(() => ({ 'cache-control': 'max-age=10' }));
    const proxy = await proxyFor([upstream.url], { PROXY_GRACE_RULES: 'path=/media/* stale-if-error=3600' });
    await request(proxy.url, '/media/a.jpg');
    await request(proxy.url, '/page');
    upstream.down = true;
    proxy.advance(600);
    assert.match((await request(proxy.url, '/media/a.jpg')).cacheStatus, /detail=stale-if-error/);
    assert.equal((await request(proxy.url, '/page')).status, 503);
  });

  it('refuses to start with a malformed PROXY_GRACE_RULES, naming the variable', async () => {
    const upstream = await origin(() => ({}));
    await assert.rejects(
      startTestProxy([upstream.url], { PROXY_GRACE_RULES: 'upstream=http://127.0.0.1:1 stale-if-error=60' }),
      /PROXY_GRACE_RULES: rule 1 .*not one of PROXY_UPSTREAMS/,
    );
    await assert.rejects(
      startTestProxy([upstream.url], { PROXY_GRACE_RULES: 'path=/* grace=60' }),
      /PROXY_GRACE_RULES: rule 1 .*unknown setting "grace=60"/,
    );
  });

  it("keeps a Hyperstatic mirror's pages readable for days once every mirror is gone, as the mirror declares (RFC 5861 §4)", async () => {
    const lastModified = Date.now() - 3_600_000;
    const headersOf = (kind: 'article' | 'index', path: string) => {
      const page = {
        path,
        op: 'put',
        sha256: 'ab',
        size: 2,
        contentType: 'text/html',
        lastModified,
        kind,
        seq: 1,
      } as const;
      return pageHeaders(page, etagOf(`${kind}1`), httpDate(lastModified), 60) as Record<string, string>;
    };
    const mirror = await origin((path) => headersOf(path === '/' ? 'index' : 'article', path));
    const proxy = await proxyFor([mirror.url]);
    await request(proxy.url, '/');
    await request(proxy.url, '/articles/a/');
    mirror.down = true;
    proxy.advance(2 * 86_400);
    for (const path of ['/', '/articles/a/']) {
      const reply = await request(proxy.url, path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.body, path === '/' ? 'v1' : 'v2');
      assert.match(reply.cacheStatus, /fwd=stale; ttl=-\d+; detail=stale-if-error/);
    }
  });
});
