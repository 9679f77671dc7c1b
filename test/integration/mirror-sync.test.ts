// A real mirror following a fake origin over real sockets: applying batches,
// resuming, verifying blobs, refusing what it cannot fully apply.
import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { followFeed } from '../../common/feed-client';
import { sha256Hex } from '../../common/hash';
import { createLogger } from '../../common/logger';
import { makeBatch, startFakeOrigin, type FakeOrigin } from './mirror-fake-origin';
import { eventually, rawGet, startTestMirror, tempDir } from './mirror-helpers';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});
after(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function origin(options: { epoch?: number } = {}): Promise<FakeOrigin> {
  const o = await startFakeOrigin(options);
  cleanups.push(() => o.close());
  return o;
}

async function mirror(options: Parameters<typeof startTestMirror>[0]) {
  const m = await startTestMirror(options);
  cleanups.push(() => m.close());
  return m;
}

describe('mirror following the change feed', () => {
  test('applies a batch and serves its pages with the headers the cache tier relies on', async () => {
    const o = await origin();
    const lastModified = Date.UTC(2025, 2, 3, 4, 5, 6);
    const built = makeBatch(1, 1, [
      { path: '/articles/hello/', body: '<h1>Hello</h1>', kind: 'article', lastModified },
      { path: '/', body: '<a href="/articles/hello/">Hello</a>', kind: 'index', lastModified },
      { path: '/feed.xml', body: '<rss/>', kind: 'feed', contentType: 'application/rss+xml' },
      {
        path: '/assets/site-0123456789abcdef.css',
        body: 'body{margin:0}',
        kind: 'media',
        contentType: 'text/css; charset=utf-8',
      },
    ]);
    o.publish(built);
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(4, 5000);
    assert.equal(m.cursor(), 4);

    const css = await rawGet(m.url, '/assets/site-0123456789abcdef.css');
    assert.equal(css.text, 'body{margin:0}');
    assert.equal(
      css.headers['cache-control'],
      'public, max-age=31536000, immutable, stale-while-revalidate=600, stale-if-error=259200',
      'assets are named by their hash: cached for a year',
    );

    const article = await rawGet(m.url, '/articles/hello/');
    assert.equal(article.status, 200);
    assert.equal(article.text, '<h1>Hello</h1>');
    assert.equal(article.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(article.headers.etag, `"${sha256Hex('<h1>Hello</h1>')}"`);
    assert.equal(article.headers['last-modified'], new Date(lastModified).toUTCString());
    assert.equal(article.headers['hyperstatic-kind'], 'article');
    assert.equal(
      article.headers['cache-control'],
      'stale-while-revalidate=600, stale-if-error=259200',
      'articles carry no max-age so heuristic freshness applies, and declare the grace caches may use',
    );
    assert.equal(article.headers['content-length'], String('<h1>Hello</h1>'.length));

    const home = await rawGet(m.url, '/');
    assert.equal(home.status, 200);
    assert.equal(home.text, '<a href="/articles/hello/">Hello</a>');
    assert.equal(
      home.headers['cache-control'],
      'public, max-age=60, stale-while-revalidate=600, stale-if-error=259200',
    );
    assert.equal(home.headers['hyperstatic-kind'], 'index');

    const feed = await rawGet(m.url, '/feed.xml');
    assert.equal(feed.headers['content-type'], 'application/rss+xml');
    assert.equal(
      feed.headers['cache-control'],
      'public, max-age=60, stale-while-revalidate=600, stale-if-error=259200',
    );

    const head = await rawGet(m.url, '/articles/hello/', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);

    const missing = await rawGet(m.url, '/articles/nope/');
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers['content-type']), /text\/html/);

    const redirect = await rawGet(m.url, '/articles/hello');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/articles/hello/');

    const status = (await (await fetch(`${m.internalUrl}/_mirror/status`)).json()) as Record<string, unknown>;
    assert.equal(status.cursor, 4);
    assert.equal(status.epoch, 1);
    assert.equal(status.lagSeconds, 0);
    assert.equal(status.source, o.url);

    const metrics = await (await fetch(`${m.internalUrl}/metrics`)).text();
    assert.match(metrics, /hyperstatic_mirror_cursor(\{[^}]*\})? 4\n/);
    assert.match(metrics, /hyperstatic_mirror_batches_applied_total(\{[^}]*\})? 1\n/);
    assert.equal((await fetch(`${m.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${m.url}/readyz`)).status, 200);
  });

  test('index-page max-age follows MIRROR_INDEX_MAX_AGE', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/', kind: 'index' }]));
    const m = await mirror({ origins: [o.url], env: { MIRROR_INDEX_MAX_AGE: '5' } });
    await m.waitForCursor(1, 5000);
    assert.equal(
      (await rawGet(m.url, '/')).headers['cache-control'],
      'public, max-age=5, stale-while-revalidate=600, stale-if-error=259200',
    );
  });

  test('pushes batches published while connected, without polling', async () => {
    const o = await origin();
    const m = await mirror({ origins: [o.url] });
    await eventually(() => assert.equal(o.feedRequests.length, 1));
    o.publish(makeBatch(1, 1, [{ path: '/articles/live/', body: 'live' }]));
    await m.waitForCursor(1, 5000);
    assert.equal((await rawGet(m.url, '/articles/live/')).text, 'live');
    assert.equal(o.feedRequests.length, 1, 'one long-lived connection carried the push');
  });

  test('resumes from its cursor after the feed connection drops and gets exactly the missed batches in order', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/a/', body: 'a1' }]));
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);

    o.feedOnline = false;
    o.dropFeedConnections();
    o.publish(makeBatch(2, 2, [{ path: '/b/', body: 'b' }]));
    o.publish(
      makeBatch(3, 3, [
        { path: '/a/', body: 'a2' },
        { path: '/', kind: 'index', body: 'home' },
      ]),
    );
    await eventually(() => assert.ok(o.feedRequests.length >= 3, 'retried while the feed was down'));
    assert.equal(m.cursor(), 1);
    o.feedOnline = true;
    await m.waitForCursor(4, 5000);

    assert.deepEqual(
      o.feedRequests.slice(1),
      o.feedRequests.slice(1).map(() => 1),
      'every reconnect resumed after seq 1',
    );
    assert.deepEqual(o.sentPerConnection.at(-1), [2, 3]);
    assert.equal((await rawGet(m.url, '/a/')).text, 'a2');
    assert.equal((await rawGet(m.url, '/b/')).text, 'b');
    assert.equal((await rawGet(m.url, '/')).text, 'home');
  });

  test('resumes from the stored cursor after a restart', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/a/', body: 'a' }]));
    const dataDir = tempDir('mirror-restart');
    const first = await startTestMirror({ origins: [o.url], dataDir });
    await first.waitForCursor(1, 5000);
    await first.close();

    o.publish(makeBatch(2, 2, [{ path: '/b/', body: 'b' }]));
    const second = await mirror({ origins: [o.url], dataDir });
    await second.waitForCursor(2, 5000);
    assert.equal(o.feedRequests.at(-1), 1);
    assert.deepEqual(o.sentPerConnection.at(-1), [2]);
    assert.equal((await rawGet(second.url, '/a/')).text, 'a');
    assert.equal((await rawGet(second.url, '/b/')).text, 'b');
  });

  test('rejects a corrupted blob and fetches it from the next source', async () => {
    const bad = await origin();
    const good = await origin();
    const built = makeBatch(1, 1, [{ path: '/articles/x/', body: 'the real bytes' }]);
    const [sha] = built.blobs.keys();
    bad.publish(built);
    bad.blobs.set(sha, Buffer.from('tampered bytes'));
    good.blobs.set(sha, Buffer.from('the real bytes'));

    const m = await mirror({ origins: [bad.url], peers: [good.url] });
    await m.waitForCursor(1, 5000);
    assert.deepEqual(bad.blobRequests, [sha]);
    assert.deepEqual(good.blobRequests, [sha]);
    const page = await rawGet(m.url, '/articles/x/');
    assert.equal(page.text, 'the real bytes');
    const metrics = await (await fetch(`${m.internalUrl}/metrics`)).text();
    assert.match(metrics, /hyperstatic_mirror_blob_fetch_errors_total(\{[^}]*\})? 1\n/);
    // The mirror now serves the verified blob to its own peers.
    const blob = await rawGet(m.url, `/blobs/${sha}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.text, 'the real bytes');
    assert.equal(blob.headers.etag, `"${sha}"`);
    // A peer that lost a transfer midway resumes it here with a Range (docs/mirrors.md, "Feed wire format").
    const rest = await rawGet(m.url, `/blobs/${sha}`, { range: 'bytes=4-' });
    assert.equal(rest.status, 206);
    assert.equal(rest.text, 'real bytes');
    assert.equal(rest.headers['content-range'], 'bytes 4-13/14');
    assert.equal(blob.headers['accept-ranges'], 'bytes');
    assert.equal((await rawGet(m.url, `/blobs/${sha}`, { range: 'bytes=14-' })).status, 416);
  });

  test('abandons a stalled blob transfer after the timeout and uses the next source', async () => {
    const stalled = await origin();
    const peer = await origin();
    const built = makeBatch(1, 1, [{ path: '/articles/slow/', body: 'slow' }]);
    stalled.publish(built);
    stalled.stallBlobs = true;
    for (const [sha, body] of built.blobs) peer.blobs.set(sha, body);
    const m = await mirror({ origins: [stalled.url], peers: [peer.url], env: { MIRROR_FETCH_TIMEOUT_MS: '200' } });
    await m.waitForCursor(1, 5000);
    assert.equal(stalled.blobRequests.length, 1);
    assert.equal((await rawGet(m.url, '/articles/slow/')).text, 'slow');
  });

  test('fetches the blobs of a large batch with bounded concurrency', async () => {
    const o = await origin();
    o.blobDelayMs = 20;
    const pages = Array.from({ length: 24 }, (_, i) => ({ path: `/p${i}/`, body: `page ${i}` }));
    o.publish(makeBatch(1, 1, pages));
    const m = await mirror({ origins: [o.url], env: { MIRROR_FETCH_CONCURRENCY: '3' } });
    await m.waitForCursor(24, 5000);
    assert.equal(o.blobRequests.length, 24);
    assert.equal(o.maxConcurrentBlobRequests, 3);
  });

  test('does not apply a batch whose blob cannot be fetched, so no index links to a missing page', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/', kind: 'index', body: 'old home' }]));
    const built = makeBatch(2, 2, [
      { path: '/articles/new/', body: 'new article' },
      { path: '/', kind: 'index', body: '<a href="/articles/new/">new</a>' },
    ]);
    const articleSha = sha256Hex('new article');
    o.publish(built, { withBlobs: false });
    o.blobs.set(sha256Hex('<a href="/articles/new/">new</a>'), Buffer.from('<a href="/articles/new/">new</a>'));

    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);
    await eventually(() =>
      assert.ok(o.blobRequests.filter((s) => s === articleSha).length >= 2, 'retried the missing blob'),
    );
    assert.equal(m.cursor(), 1);
    assert.equal((await rawGet(m.url, '/')).text, 'old home');
    assert.equal((await rawGet(m.url, '/articles/new/')).status, 404);
    const status = (await (await fetch(`${m.internalUrl}/_mirror/status`)).json()) as {
      lastError: string | null;
      lagSeconds: number;
    };
    assert.match(String(status.lastError), /could not be fetched/);

    // Once the blob appears, the retry applies the whole batch.
    o.blobs.set(articleSha, Buffer.from('new article'));
    await m.waitForCursor(3, 5000);
    assert.equal((await rawGet(m.url, '/articles/new/')).text, 'new article');
    assert.equal((await rawGet(m.url, '/')).text, '<a href="/articles/new/">new</a>');
  });

  test('serves a gone page as 410 with its tombstone and forgets a deleted one', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/articles/a/' }, { path: '/articles/b/' }]));
    o.publish(
      makeBatch(2, 3, [
        { path: '/articles/a/', op: 'gone', body: '<p>This article was withdrawn.</p>' },
        { path: '/articles/b/', op: 'delete' },
      ]),
    );
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(4, 5000);
    const gone = await rawGet(m.url, '/articles/a/');
    assert.equal(gone.status, 410);
    assert.equal(gone.text, '<p>This article was withdrawn.</p>');
    assert.equal((await rawGet(m.url, '/articles/b/')).status, 404);
  });

  test('answers conditional requests with 304', async () => {
    const o = await origin();
    const lastModified = Date.UTC(2025, 0, 2, 3, 4, 5);
    o.publish(makeBatch(1, 1, [{ path: '/', kind: 'index', body: 'home', lastModified }]));
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);
    const etag = `"${sha256Hex('home')}"`;
    const byTag = await rawGet(m.url, '/', { 'if-none-match': etag });
    assert.equal(byTag.status, 304);
    assert.equal(byTag.body.length, 0);
    assert.equal(byTag.headers.etag, etag);
    assert.equal(
      byTag.headers['cache-control'],
      'public, max-age=60, stale-while-revalidate=600, stale-if-error=259200',
    );
    assert.equal((await rawGet(m.url, '/', { 'if-none-match': '"other"' })).status, 200);
    assert.equal((await rawGet(m.url, '/', { 'if-modified-since': new Date(lastModified).toUTCString() })).status, 304);
    assert.equal(
      (await rawGet(m.url, '/', { 'if-modified-since': new Date(lastModified - 1000).toUTCString() })).status,
      200,
    );
  });

  test('serves single byte ranges of media', async () => {
    const o = await origin();
    const bytes = Buffer.from('0123456789');
    o.publish(
      makeBatch(1, 1, [
        { path: '/media/clip.bin', kind: 'media', body: bytes, contentType: 'application/octet-stream' },
      ]),
    );
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);
    const full = await rawGet(m.url, '/media/clip.bin');
    assert.equal(full.status, 200);
    assert.equal(full.headers['accept-ranges'], 'bytes');
    const part = await rawGet(m.url, '/media/clip.bin', { range: 'bytes=2-5' });
    assert.equal(part.status, 206);
    assert.equal(part.text, '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    assert.equal(part.headers['content-length'], '4');
    assert.equal((await rawGet(m.url, '/media/clip.bin', { range: 'bytes=-3' })).text, '789');
    assert.equal((await rawGet(m.url, '/media/clip.bin', { range: 'bytes=7-' })).text, '789');
    const unsatisfiable = await rawGet(m.url, '/media/clip.bin', { range: 'bytes=10-' });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers['content-range'], 'bytes */10');
    assert.equal((await rawGet(m.url, '/media/clip.bin', { range: 'bytes=2-5', 'if-range': '"stale"' })).status, 200);
  });

  test('refuses traversal and never serves files outside the index', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/articles/a/', body: 'a' }]));
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);
    const attempts = [
      '/../index.sqlite',
      '/articles/../../index.sqlite',
      '/%2e%2e/index.sqlite',
      '/%2E%2E/%2e%2e/etc/passwd',
      '/articles%2f..%2f..%2findex.sqlite',
      '/..%5cindex.sqlite',
      '/articles/a/%00',
      '//etc/passwd',
      '/blobs/../index.sqlite',
      '/blobs/tmp',
      '/index.sqlite',
      '/blobs',
      '/%zz',
      '/articles/./a/',
    ];
    for (const target of attempts) {
      const res = await rawGet(m.url, target);
      assert.ok(res.status === 400 || res.status === 404, `${target} answered ${res.status}`);
      assert.ok(!res.body.includes('SQLite format'), `${target} leaked the index`);
      assert.ok(!res.text.includes('root:'), `${target} leaked a system file`);
    }
    assert.equal((await rawGet(m.url, '/articles/a/', {}, 'DELETE')).status, 405);
  });

  test('its own /feed replays applied batches and pushes each newly applied one', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/a/', body: 'a' }]));
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);

    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const res = await fetch(`${m.url}/feed?after=0`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil('id: 1\n');
    // The trust statements it holds come first, then its head with the origin's newest signed heartbeat.
    assert.match(text, /^event: trust\ndata: \{"delegations":\[\],"revocations":\[\]\}\n\n/);
    assert.match(text, /\nevent: hello\ndata: \{"epoch":1,"head":1,"heartbeat":\{"epoch":1,"head":1,"time":\d+,/);

    const built = makeBatch(2, 2, [{ path: '/b/', body: 'b' }]);
    o.publish(built);
    await readUntil('id: 2\n');
    const events = text.split('\n\n').filter((e) => e.startsWith('event: batch'));
    assert.equal(events.length, 2);
    const pushed = JSON.parse(events[1].split('\ndata: ')[1]) as unknown;
    assert.deepEqual(pushed, built.batch);
    // By the time the push arrives, the mirror serves the new page.
    assert.equal((await rawGet(m.url, '/b/')).text, 'b');
    controller.abort();
  });

  test('a published page at /feed still reaches browsers, while feed clients get the change feed', async () => {
    const o = await origin();
    o.publish(makeBatch(1, 1, [{ path: '/feed', kind: 'feed', body: '<rss/>', contentType: 'application/rss+xml' }]));
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(1, 5000);
    const page = await rawGet(m.url, '/feed', { accept: 'application/rss+xml, */*' });
    assert.equal(page.status, 200);
    assert.equal(page.text, '<rss/>');
    const controller = new AbortController();
    const stream = await fetch(`${m.url}/feed?after=0`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    assert.match(String(stream.headers.get('content-type')), /^text\/event-stream/);
    controller.abort();
  });

  test('its own /feed hands a client over from replay to live pushes without gaps or duplicates', async () => {
    const o = await origin();
    for (let i = 1; i <= 20; i++) o.publish(makeBatch(i, i, [{ path: `/p${i}/`, body: `p${i}` }]));
    const m = await mirror({ origins: [o.url] });
    await m.waitForCursor(5, 5000).catch(() => undefined);

    // Connect while the mirror is still applying, and keep publishing meanwhile.
    const received: number[] = [];
    const follower = followFeed({
      urls: [m.url],
      after: () => received.at(-1) ?? 0,
      onBatch: async (batch) => {
        received.push(batch.entries[0].seq);
      },
      logger: createLogger('silent', 'test'),
      reconnectMs: 10,
    });
    cleanups.push(async () => {
      follower.close();
      await follower.done;
    });
    for (let i = 21; i <= 40; i++) o.publish(makeBatch(i, i, [{ path: `/p${i}/`, body: `p${i}` }]));
    await m.waitForCursor(40, 5000);
    await eventually(() => assert.equal(received.length, 40));
    assert.deepEqual(
      received,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
});
