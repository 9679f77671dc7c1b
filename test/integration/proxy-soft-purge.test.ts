// Soft and hard purge (PROXY_PURGE_MODE, Hyperstatic-Purge-Mode): a soft
// purge marks a page's copies stale so they are revalidated, a hard one
// drops them; a takedown is always hard.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FeedBatch, JournalEntry } from '../../common/feed-format';
import { request, sleep, startTestProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-helpers';

async function until(condition: () => Promise<boolean> | boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

let nextSeq = 10;
function batch(path: string, op: JournalEntry['op']): FeedBatch {
  const seq = nextSeq++;
  const entry: JournalEntry = {
    seq,
    epoch: 1,
    batch: seq,
    path,
    op,
    sha256: 'a'.repeat(64),
    size: 1,
    contentType: 'text/html',
    lastModified: Date.now(),
    kind: 'article',
  };
  return { epoch: 1, batch: seq, entries: [entry] };
}

/** Pages whose version (and ETag) the test bumps; a conditional request for the current version gets 304. */
interface Site {
  upstream: TestUpstream;
  versions: Map<string, number>;
  cacheControl: Map<string, string>;
  push(batch: FeedBatch): void;
  close(): Promise<void>;
}

async function startSite(): Promise<Site> {
  let feed: ServerResponse | undefined;
  const versions = new Map<string, number>();
  const cacheControl = new Map<string, string>();
  const upstream = await startUpstream((req, res) => {
    if (req.url?.startsWith('/feed')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(`event: hello\ndata: ${JSON.stringify({ epoch: 1, head: 9 })}\n\n`);
      feed = res;
      return;
    }
    const url = req.url ?? '/';
    const version = versions.get(url) ?? 1;
    const etag = `"v${version}"`;
    const headers = { etag, 'cache-control': cacheControl.get(url) ?? 'max-age=3600, stale-while-revalidate=600' };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end(`${url} v${version}`);
  });
  await until(() => upstream.url !== '');
  return {
    upstream,
    versions,
    cacheControl,
    push(b) {
      feed?.write(`event: batch\nid: ${b.batch}\ndata: ${JSON.stringify(b)}\n\n`);
    },
    async close() {
      feed?.end();
      await upstream.close();
    },
  };
}

async function evictions(proxy: TestProxy, source: string, mode: string): Promise<number> {
  const text = (await request(proxy.internalUrl, '/metrics')).body;
  const line = new RegExp(`hyperstatic_proxy_evictions_total\\{source="${source}",mode="${mode}"\\} (\\d+)`).exec(text);
  return Number(line?.[1] ?? 0);
}

describe('cache proxy: soft purge from the change feed (PROXY_PURGE_MODE=soft)', () => {
  let site: Site;
  let proxy: TestProxy;

  before(async () => {
    site = await startSite();
    proxy = await startTestProxy([site.upstream.url], { PROXY_FEED_URL: site.upstream.url, PROXY_PURGE_MODE: 'soft' });
    await until(() => site.upstream.seen.some((r) => r.url.startsWith('/feed')));
    await sleep(100);
  });

  after(async () => {
    await proxy.close();
    await site.close();
  });

  it('serves the marked-stale copy at once while one conditional request revalidates it, then the new version', async () => {
    assert.equal((await request(proxy.url, '/news/soft')).body, '/news/soft v1');
    assert.match((await request(proxy.url, '/news/soft')).cacheStatus, /hit/);
    site.versions.set('/news/soft', 2);
    site.push(batch('/news/soft', 'put'));
    await until(async () => (await evictions(proxy, 'feed', 'soft')) >= 1);
    const stale = await request(proxy.url, '/news/soft');
    assert.equal(stale.body, '/news/soft v1');
    assert.match(stale.cacheStatus, /detail=stale-while-revalidate/);
    await until(() => site.upstream.count('/news/soft') === 2);
    // RFC 9111 §4.3.1: the revalidation carries the stored validator.
    assert.equal(site.upstream.seen.filter((r) => r.url === '/news/soft').at(-1)?.headers['if-none-match'], '"v1"');
    await until(async () => (await request(proxy.url, '/news/soft')).body === '/news/soft v2');
  });

  it('revalidates before answering when the page forbids stale copies, and keeps the copy on a 304', async () => {
    site.cacheControl.set('/news/strict', 'max-age=3600, must-revalidate');
    assert.equal((await request(proxy.url, '/news/strict')).body, '/news/strict v1');
    site.push(batch('/news/strict', 'put'));
    await until(async () => (await evictions(proxy, 'feed', 'soft')) >= 2);
    const reply = await request(proxy.url, '/news/strict');
    assert.equal(reply.body, '/news/strict v1');
    assert.match(reply.cacheStatus, /fwd=stale; fwd-status=304/);
    assert.equal(site.upstream.count('/news/strict'), 2);
    assert.match((await request(proxy.url, '/news/strict')).cacheStatus, /^Hyperstatic; hit/);
  });

  it('purges hard what the feed unpublished or took down, whatever the mode', async () => {
    assert.equal((await request(proxy.url, '/news/gone')).body, '/news/gone v1');
    site.versions.set('/news/gone', 2);
    site.push(batch('/news/gone', 'gone'));
    await until(async () => (await evictions(proxy, 'feed', 'hard')) >= 1);
    const reply = await request(proxy.url, '/news/gone');
    assert.equal(reply.body, '/news/gone v2');
    assert.match(reply.cacheStatus, /fwd=uri-miss/);
    assert.equal(site.upstream.seen.filter((r) => r.url === '/news/gone').at(-1)?.headers['if-none-match'], undefined);
  });
});

describe('cache proxy: PURGE chooses hard or soft (Hyperstatic-Purge-Mode)', () => {
  let site: Site;
  let proxy: TestProxy;
  const purge = (path: string, mode?: string) =>
    request(proxy.url, path, {
      method: 'PURGE',
      headers: { authorization: 'Bearer s3cret', ...(mode === undefined ? {} : { 'hyperstatic-purge-mode': mode }) },
    });

  before(async () => {
    site = await startSite();
    proxy = await startTestProxy([site.upstream.url], { PROXY_PURGE_TOKEN: 's3cret' });
  });

  after(async () => {
    await proxy.close();
    await site.close();
  });

  it('drops the copy by default (PROXY_PURGE_MODE=hard): the next reader waits for a full fetch', async () => {
    await request(proxy.url, '/p/hard');
    const purged = await purge('/p/hard');
    assert.equal(purged.status, 200);
    const reply = await request(proxy.url, '/p/hard');
    assert.match(reply.cacheStatus, /fwd=uri-miss/);
    assert.equal(await evictions(proxy, 'purge', 'hard'), 1);
  });

  it('marks the copy stale when the PURGE asks for soft', async () => {
    await request(proxy.url, '/p/soft');
    const purged = await purge('/p/soft', 'soft');
    assert.equal(purged.status, 200);
    assert.equal(JSON.parse(purged.body).mode, 'soft');
    const reply = await request(proxy.url, '/p/soft');
    assert.equal(reply.body, '/p/soft v1');
    assert.match(reply.cacheStatus, /detail=stale-while-revalidate/);
    assert.equal(await evictions(proxy, 'purge', 'soft'), 1);
  });

  it('refuses a mode other than hard or soft with a 400 naming the field, and purges nothing', async () => {
    await request(proxy.url, '/p/kept');
    const purged = await purge('/p/kept', 'gentle');
    assert.equal(purged.status, 400);
    assert.match(purged.body, /Hyperstatic-Purge-Mode/);
    assert.match((await request(proxy.url, '/p/kept')).cacheStatus, /^Hyperstatic; hit/);
  });
});
