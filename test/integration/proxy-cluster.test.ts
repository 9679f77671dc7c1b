// Multi-core mode: PROXY_WORKERS processes share the port, each with its own
// cache; the primary follows the change feed and relays every eviction, and
// a PURGE received by one worker reaches all of them.
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../common/config';
import type { FeedBatch } from '../../common/feed-format';
import { createLogger } from '../../common/logger';
import { startProxyCluster } from '../../cache-proxy/cluster';
import type { RunningProxy } from '../../cache-proxy/main';
import { request, sleep, startUpstream, type TestUpstream } from './proxy-helpers';

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

/** Bodies of `n` requests, each on a new connection, so the cluster spreads them over its workers. */
async function readMany(base: string, path: string, n = 8): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) bodies.push((await request(base, path)).body);
  return bodies;
}

async function until(what: string, condition: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

describe('cache proxy: several worker processes', () => {
  let upstream: TestUpstream;
  let proxy: RunningProxy;
  let stream: ServerResponse | undefined;
  let version = 1;
  /** Hyperstatic-Position of the upstream's answers, once a test sets it. */
  let position: number | undefined;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/feed')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(`event: hello\ndata: ${JSON.stringify({ epoch: 1, head: 10 })}\n\n`);
        stream = res;
        return;
      }
      res.writeHead(200, {
        'cache-control': 'max-age=3600',
        ...(position === undefined ? {} : { 'hyperstatic-position': String(position) }),
      });
      res.end(`${req.url} v${version}`);
    });
    const config = loadConfig({
      PROXY_PORT: '0',
      PROXY_INTERNAL_PORT: '0',
      PROXY_UPSTREAMS: upstream.url,
      PROXY_FEED_URL: upstream.url,
      PROXY_WORKERS: '2',
      PROXY_PURGE_TOKEN: 'sesame',
      PROXY_ACCESS_LOG: 'false',
      LOG_LEVEL: 'silent',
    });
    proxy = await startProxyCluster(config, { logger: createLogger('silent', 'proxy-cluster-test') });
    await until('feed connected', async () => stream !== undefined);
  });

  after(async () => {
    stream?.end();
    await proxy.close();
    await upstream.close();
  });

  it('serves from every worker, each filling its own cache once', async () => {
    const bodies = await readMany(proxy.url, '/story');
    assert.ok(bodies.every((b) => b === '/story v1'));
    // Round-robin over two workers: each missed once, then hit.
    assert.equal(upstream.count('/story'), 2);
  });

  it('reports the hits of every worker in one /metrics scrape, on the operator listener only', async () => {
    assert.ok(proxy.internalUrl, 'the cluster names its operator listener');
    assert.notEqual(proxy.internalUrl, proxy.url);
    assert.equal((await request(proxy.url, '/metrics')).status, 404);
    const metrics = await request(proxy.internalUrl, '/metrics');
    assert.equal(metrics.status, 200);
    // Six hits, spread over both workers; one worker alone would report about half.
    const hits = Number(/hyperstatic_proxy_cache_hits_total(?:\{[^}]*\})? (\d+)/.exec(metrics.body)?.[1]);
    assert.ok(hits >= 6, `hits: ${hits}`);
  });

  it('evicts a path in every worker when the feed announces it', async () => {
    await readMany(proxy.url, '/story');
    version = 2;
    stream?.write(`event: batch\nid: 11\ndata: ${JSON.stringify(batch(11, ['/story']))}\n\n`);
    await until('every worker serves v2', async () =>
      (await readMany(proxy.url, '/story')).every((b) => b === '/story v2'),
    );
    assert.equal(upstream.count('/story'), 4);
  });

  it('relays a PURGE received by one worker to the others', async () => {
    version = 3;
    const purge = await request(proxy.url, '/story', { method: 'PURGE', headers: { authorization: 'Bearer sesame' } });
    assert.equal(purge.status, 200);
    await until('every worker serves v3', async () =>
      (await readMany(proxy.url, '/story')).every((b) => b === '/story v3'),
    );
  });

  it('relays a soft PURGE as soft: every worker marks its copy stale instead of dropping it', async () => {
    version = 4;
    const purge = await request(proxy.url, '/story', {
      method: 'PURGE',
      headers: { authorization: 'Bearer sesame', 'hyperstatic-purge-mode': 'soft' },
    });
    assert.equal(purge.status, 200);
    const internal = proxy.internalUrl;
    assert.ok(internal);
    // Counted once in the worker that took the PURGE and once in the other, to which the primary relayed it.
    await until('both workers counted a soft purge', async () =>
      /hyperstatic_proxy_evictions_total\{source="purge",mode="soft"[^}]*\} 2\b/.test(
        (await request(internal, '/metrics')).body,
      ),
    );
    await until('every worker serves v4', async () =>
      (await readMany(proxy.url, '/story')).every((b) => b === '/story v4'),
    );
  });

  it('relays the journal position of an eviction: no worker refills the page from an upstream still behind it', async () => {
    position = 12;
    version = 5;
    await until('every worker holds v5', async () =>
      (await readMany(proxy.url, '/embargo', 4)).every((b) => b === '/embargo v5'),
    );
    // The feed says /embargo changed at 13; the upstream answers from 12 for a while yet.
    stream?.write(`event: batch\nid: 13\ndata: ${JSON.stringify(batch(13, ['/embargo']))}\n\n`);
    await sleep(200);
    setTimeout(() => {
      version = 6;
      position = 13;
    }, 300);
    const bodies = await readMany(proxy.url, '/embargo', 4);
    assert.deepEqual(bodies, Array(4).fill('/embargo v6'));
  });

  it('replaces a worker that dies and keeps serving', async () => {
    const [victim] = Object.values(cluster.workers ?? {});
    assert.ok(victim?.process.pid);
    const pids = new Set(Object.values(cluster.workers ?? {}).map((w) => w?.process.pid));
    process.kill(victim.process.pid, 'SIGKILL');
    await until(
      'a new worker runs',
      async () => {
        const now = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
        return now.length === 2 && now.some((w) => !pids.has(w?.process.pid));
      },
      15_000,
    );
    await until(
      'a new worker listens',
      async () => (await readMany(proxy.url, '/story', 4)).every((b) => b === '/story v4'),
      15_000,
    );
  });
});
