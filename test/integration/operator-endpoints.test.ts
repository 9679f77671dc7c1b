// Nothing internal through the public tier (docs/design.md, "Operator
// endpoints"): a real mirror following a fake origin, a real proxy in front of
// it, and a recording upstream that shows what a proxy forwards. A reader gets
// the 404 of an unknown path for every operator path and never an upstream's
// address; an operator gets everything on the operator listener or with the
// admin token.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { clusterStatus } from '../../bin/commands/status';
import { loadConfig } from '../../common/config';
import { sha256Hex } from '../../common/hash';
import { makeBatch, startFakeOrigin, TEST_FEED_PUBLIC_KEY, type FakeOrigin } from './mirror-fake-origin';
import { rawGet, startTestMirror, tempDir, type RawResponse } from './mirror-helpers';
import { closedPortUrl, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');
const MIRROR_TOKEN = 'mirror-admin-token-0123456789';
const PROXY_TOKEN = 'proxy-admin-token-0123456789';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every spelling of an operator path a reader might try; the proxy normalizes %5F and dot segments first. */
const OPERATOR_TARGETS = [
  '/_mirror/status',
  '/_mirror/manifest',
  '/_mirror/future-endpoint',
  '/_mirror',
  '/_mirror/status?x=1',
  '/metrics',
  '/%5Fmirror/status',
];
const PROXY_ONLY_TARGETS = ['/x/../_mirror/status', '/./_mirror/manifest', '//_mirror/status'];

/** host:port of each address a reader must never learn. */
function hostsOf(...urls: string[]): string[] {
  return urls.map((u) => new URL(u).host);
}

function assertNamesNone(res: RawResponse, hosts: string[], what: string): void {
  const ports = hosts.map((h) => h.split(':')[1]);
  const seen = [res.text, ...Object.entries(res.headers).map(([name, value]) => `${name}: ${String(value)}`)];
  for (const text of seen) {
    for (const host of hosts) assert.ok(!text.includes(host), `${what} names ${host}: ${text.slice(0, 200)}`);
    for (const port of ports) assert.doesNotMatch(text, new RegExp(`:${port}\\b`), `${what} names port ${port}`);
  }
}

/** A response as a reader compares it with another: status, headers that are not per-response, body. */
function shape(res: RawResponse): unknown {
  const { date: _date, ...headers } = res.headers;
  return { status: res.status, headers, body: res.text };
}

describe('operator endpoints stay off the public tier', () => {
  let origin: FakeOrigin;
  let deadOrigin: string;
  let mirror: Awaited<ReturnType<typeof startTestMirror>>;
  let proxy: TestProxy;
  let secrets: string[];

  before(async () => {
    origin = await startFakeOrigin();
    origin.publish(makeBatch(1, 1, [{ path: '/a/', body: 'the story' }]));
    deadOrigin = await closedPortUrl();
    // The dead origin first: the mirror fails on it, then follows the live one; its status names both.
    mirror = await startTestMirror({ origins: [deadOrigin, origin.url], env: { MIRROR_ADMIN_TOKEN: MIRROR_TOKEN } });
    await mirror.waitForCursor(1, 10_000);
    proxy = await startTestProxy([mirror.url], { PROXY_ADMIN_TOKEN: PROXY_TOKEN });
    secrets = hostsOf(origin.url, deadOrigin, mirror.internalUrl);
  });

  after(async () => {
    await proxy?.close();
    await mirror?.close();
    await origin?.close();
  });

  test("a mirror's public port answers every operator path exactly like an unknown path", async () => {
    for (const headers of [
      {},
      bearer('wrong-token-0123456789abcdef'),
      bearer(PROXY_TOKEN),
      { authorization: MIRROR_TOKEN },
    ]) {
      for (const method of ['GET', 'HEAD']) {
        const unknown = shape(await rawGet(mirror.url, '/no-such-page', headers, method));
        for (const target of OPERATOR_TARGETS) {
          const res = await rawGet(mirror.url, target, headers, method);
          assert.equal(res.status, 404, `${method} ${target}`);
          assert.deepEqual(shape(res), unknown, `${method} ${target} with ${JSON.stringify(headers)}`);
        }
      }
    }
  });

  test('the admin token opens them on the public port', async () => {
    const status = await rawGet(mirror.url, '/_mirror/status', bearer(MIRROR_TOKEN));
    assert.equal(status.status, 200);
    const body = JSON.parse(status.text) as { cursor: number; source: string };
    assert.equal(body.cursor, 1);
    // What readers must not learn is really in there: the origin the mirror follows.
    assert.equal(body.source, origin.url);
    const manifest = await rawGet(mirror.url, '/_mirror/manifest', bearer(MIRROR_TOKEN));
    assert.equal(manifest.status, 200);
    assert.deepEqual(JSON.parse(manifest.text.split('\n')[0]), { type: 'head', epoch: 1, cursor: 1 });
    const metrics = await rawGet(mirror.url, '/metrics', bearer(MIRROR_TOKEN));
    assert.match(metrics.text, /hyperstatic_mirror_cursor(\{[^}]*\})? 1\n/);
    assert.equal((await rawGet(mirror.url, '/_mirror/unknown', bearer(MIRROR_TOKEN))).status, 404);
  });

  test('the operator listener answers them without a token, with details, and serves the copy too', async () => {
    const status = await rawGet(mirror.internalUrl, '/_mirror/status');
    assert.equal((JSON.parse(status.text) as { source: string }).source, origin.url);
    assert.equal((await rawGet(mirror.internalUrl, '/_mirror/manifest')).status, 200);
    assert.match((await rawGet(mirror.internalUrl, '/metrics')).text, /hyperstatic_mirror_cursor/);
    // It does not ask for a token, so a wrong one changes nothing.
    assert.equal((await rawGet(mirror.internalUrl, '/_mirror/status', bearer('wrong-token-0123456789'))).status, 200);
    assert.deepEqual(JSON.parse((await rawGet(mirror.internalUrl, '/readyz')).text), {
      ready: true,
      checks: { index: 'ok' },
    });
    assert.equal((await rawGet(mirror.internalUrl, '/a/')).text, 'the story');
    assert.notEqual(new URL(mirror.internalUrl).port, new URL(mirror.url).port);
  });

  test('the proxy answers 404 itself for every operator path, whatever the method or token, and forwards none', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end(JSON.stringify({ source: 'http://origin.internal:3000', lastError: 'secret' }));
    });
    const front = await startTestProxy([upstream.url], { PROXY_PURGE_TOKEN: 'purge-token-0123456789' });
    try {
      for (const headers of [{}, bearer(MIRROR_TOKEN), bearer('purge-token-0123456789')]) {
        for (const method of ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PURGE']) {
          for (const target of [...OPERATOR_TARGETS, ...PROXY_ONLY_TARGETS]) {
            const res = await rawGet(front.url, target, headers, method);
            assert.equal(res.status, 404, `${method} ${target}`);
            assert.match(String(res.headers['cache-status']), /^Hyperstatic; fwd=bypass$/);
            assert.equal(res.headers['cache-control'], 'no-store');
            assertNamesNone(res, hostsOf(upstream.url), `${method} ${target}`);
            assert.doesNotMatch(res.text, /origin\.internal|secret/);
          }
        }
      }
      assert.deepEqual(
        upstream.seen.map((r) => `${r.method} ${r.url}`),
        [],
        'no operator path reached the upstream',
      );
      // An ordinary page still goes through.
      assert.equal((await rawGet(front.url, '/page')).status, 200);
      assert.equal(upstream.count('/page'), 1);
    } finally {
      await front.close();
      await upstream.close();
    }
  });

  test("the proxy's /metrics needs its operator listener or its admin token; a wrong token is a 404", async () => {
    const unknown = await rawGet(proxy.url, '/metrics', bearer('wrong-token-0123456789abcdef'));
    assert.equal(unknown.status, 404);
    assert.doesNotMatch(unknown.text, /hyperstatic_proxy/);
    assert.equal((await rawGet(proxy.url, '/metrics', bearer(MIRROR_TOKEN))).status, 404);
    assert.equal((await rawGet(proxy.url, '/metrics')).status, 404);
    const opened = await rawGet(proxy.url, '/metrics', bearer(PROXY_TOKEN));
    assert.equal(opened.status, 200);
    assert.match(opened.text, /hyperstatic_proxy_cache_hits_total/);
    assert.match((await rawGet(proxy.internalUrl, '/metrics')).text, /hyperstatic_proxy_cache_hits_total/);
    assert.equal((await rawGet(proxy.internalUrl, '/a/')).status, 404, 'the operator listener proxies no page');
  });

  test('nothing a reader gets from the proxy or the mirror names an upstream', async () => {
    const sha = sha256Hex('the story');
    const targets = [
      '/a/',
      '/a',
      '/missing',
      '/healthz',
      '/readyz',
      `/blobs/${sha}`,
      `/blobs/${'0'.repeat(64)}`,
      '/%zz',
    ];
    for (const base of [proxy.url, mirror.url]) {
      for (const target of [...targets, ...OPERATOR_TARGETS]) {
        for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST']) {
          assertNamesNone(await rawGet(base, target, {}, method), secrets, `${method} ${base}${target}`);
        }
      }
    }
    assert.equal((await rawGet(proxy.url, `/blobs/${sha}`)).text, 'the story', 'blobs stay public');
    assert.deepEqual(JSON.parse((await rawGet(proxy.url, '/readyz')).text), {
      ready: true,
      checks: { upstreams: 'ok' },
    });
    assert.deepEqual(JSON.parse((await rawGet(mirror.url, '/readyz')).text), { ready: true, checks: { index: 'ok' } });
  });

  test("every upstream down: the proxy's 502, 504 and readiness name none of them", async () => {
    const dead = await closedPortUrl();
    const silent: TestUpstream = await startUpstream(() => undefined);
    const down = await startTestProxy([dead], { PROXY_PROBE_INTERVAL_MS: '60000' });
    const slow = await startTestProxy([silent.url], { PROXY_UPSTREAM_TIMEOUT_MS: '100' });
    try {
      for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS']) {
        const res = await rawGet(down.url, '/page', {}, method);
        assert.equal(res.status, 502, method);
        assertNamesNone(res, hostsOf(dead), `502 for ${method}`);
      }
      const timeout = await rawGet(slow.url, '/page');
      assert.equal(timeout.status, 504);
      assertNamesNone(timeout, hostsOf(silent.url), '504');
      for (let i = 0; i < 3; i += 1) await rawGet(down.url, `/again${i}`);
      const ready = await rawGet(down.url, '/readyz');
      assert.equal(ready.status, 503);
      assert.deepEqual(JSON.parse(ready.text), { ready: false, checks: { upstreams: 'failing' } });
      assertNamesNone(ready, hostsOf(dead), 'readyz');
      assert.match((await rawGet(down.internalUrl, '/readyz')).text, /no upstream is healthy/);
    } finally {
      await down.close();
      await slow.close();
      await silent.close();
    }
  });

  test('`mirror verify --peer` reads a peer manifest on its operator listener or with its token, and says why not without', async () => {
    const dataDir = tempDir('verify-peer');
    const local = await startTestMirror({ origins: [origin.url], dataDir });
    await local.waitForCursor(1, 10_000);
    await local.close();
    const verify = (peer: string, env: Record<string, string>) =>
      promisify(execFile)(process.execPath, [CLI, 'mirror', 'verify', '--peer', peer, '--data-dir', dataDir], {
        env: { ...process.env, MIRROR_PUBLIC_KEY: TEST_FEED_PUBLIC_KEY, ...env },
      });
    for (const [peer, env] of [
      [mirror.internalUrl, {}],
      [mirror.url, { MIRROR_ADMIN_TOKEN: MIRROR_TOKEN }],
    ] as const) {
      const { stdout } = await verify(peer, env);
      assert.match(stdout, /unsigned peer manifest/, peer);
      assert.match(stdout, /missing here: 0; different here: 0; only here: 0/, peer);
    }
    await assert.rejects(verify(mirror.url, {}), (error: { stderr: string }) => {
      assert.match(error.stderr, /_mirror\/manifest answered 404/);
      return true;
    });
  });

  test('`hyperstatic status` reads a proxy hit ratio on its operator listener or with its token', async () => {
    await rawGet(proxy.url, '/a/');
    const status = (env: Record<string, string>) =>
      clusterStatus(loadConfig({ DATABASE_URL: `sqlite:${path.join(tempDir('status'), 'db.sqlite')}`, ...env }));
    const internal = await status({ STATUS_PROXY_URLS: proxy.internalUrl });
    assert.equal(internal.proxies[0].reachable, true);
    const tokened = await status({ STATUS_PROXY_URLS: proxy.url, PROXY_ADMIN_TOKEN: PROXY_TOKEN });
    assert.equal(tokened.proxies[0].reachable, true);
    assert.ok((tokened.proxies[0].hits ?? 0) + (tokened.proxies[0].misses ?? 0) >= 1);
    const refused = await status({ STATUS_PROXY_URLS: proxy.url });
    assert.equal(refused.proxies[0].reachable, false);
    assert.match(refused.proxies[0].error ?? '', /404: name the proxy operator listener \(PROXY_INTERNAL_PORT\)/);
  });
});
