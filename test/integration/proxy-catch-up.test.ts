// Issue 17, "embargo that holds": the proxy follows one mirror's feed but
// fills from several, so after an eviction it could refill a page from a
// mirror that has not applied the change yet and keep the old answer (the
// 404 of an article that just went live, the old home page). Mirrors name
// their journal position in Hyperstatic-Position, and the proxy fills a key
// evicted at position P only from a mirror at P or later. Real mirrors, a
// real proxy; the lagging mirror follows the origin through a link the test
// cuts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFaultyLink, type FaultyLink } from '../support/faulty-link';
import { makeBatch, startFakeOrigin, type FakeOrigin } from './mirror-fake-origin';
import { rawGet, startTestMirror } from './mirror-helpers';
import { request, sleep, startTestProxy, type TestProxy } from './proxy-helpers';

type TestMirror = Awaited<ReturnType<typeof startTestMirror>>;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** A counter's value in the proxy's /metrics, summed over the series whose labels contain `labels`. */
async function metric(proxy: TestProxy, name: string, labels = ''): Promise<number> {
  const text = (await request(proxy.internalUrl, '/metrics')).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function until(what: string, condition: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** Waits until the proxy has taken `count` feed evictions. */
function feedEvictions(proxy: TestProxy, count: number): Promise<void> {
  return until(
    `${count} feed evictions`,
    async () => (await metric(proxy, 'hyperstatic_proxy_evictions_total', 'source="feed"')) >= count,
  );
}

/** Waits until `clients` proxies follow the mirror's feed, and a little more for the hello to be taken. */
async function following(mirror: TestMirror, clients: number): Promise<void> {
  await until(`${clients} feed clients`, async () => {
    const status = JSON.parse((await rawGet(mirror.internalUrl, '/_mirror/status')).text) as { feedClients: number };
    return status.feedClients >= clients;
  });
  await sleep(200);
}

describe('cache proxy: filling only from mirrors that have caught up', () => {
  let origin: FakeOrigin;
  let ahead: TestMirror;
  let behind: TestMirror;
  let link: FaultyLink;

  before(async () => {
    origin = await startFakeOrigin();
    cleanups.push(() => origin.close());
    origin.publish(
      makeBatch(1, 1, [
        { path: '/news/yesterday', body: '<html>yesterday</html>' },
        { path: '/', body: '<html>home v1</html>', kind: 'index' },
      ]),
    );
    ahead = await startTestMirror({ origins: [origin.url] });
    cleanups.push(() => ahead.close());
    link = await startFaultyLink(origin.url);
    cleanups.push(() => link.close());
    behind = await startTestMirror({ origins: [link.url] });
    cleanups.push(() => behind.close());
    await Promise.all([ahead.waitForCursor(2, 5000), behind.waitForCursor(2, 5000)]);
  });

  /**
   * Cuts the lagging mirror's link, then publishes batch `batch` (positions `first` and `first + 1`): a
   * story and a new home page. Resolves once the mirror ahead applied it and `proxy` took both evictions.
   */
  async function publishWhileCut(
    proxy: TestProxy,
    batch: number,
    first: number,
    story: { path: string; body: string },
    home: string,
  ): Promise<void> {
    link.cut('reset');
    origin.publish(makeBatch(batch, first, [story, { path: '/', body: `<html>${home}</html>`, kind: 'index' }]));
    await ahead.waitForCursor(first + 1, 5000);
    await feedEvictions(proxy, 2);
  }

  it('mirrors name the journal position each answer reflects, 404s included', async () => {
    const page = await rawGet(ahead.url, '/');
    assert.equal(page.headers['hyperstatic-position'], '2');
    const missing = await rawGet(ahead.url, '/news/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['hyperstatic-position'], '2');
    const revalidated = await rawGet(ahead.url, '/', { 'if-none-match': String(page.headers.etag) });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers['hyperstatic-position'], '2');
    // Blobs too: a takedown purges one by hash, and a mirror behind it would still serve it.
    const blob = await rawGet(ahead.url, `/blobs/${String(page.headers.etag).replaceAll('"', '')}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.headers['hyperstatic-position'], '2');
  });

  it('never caches or serves the 404 of an article that went live, nor the old home page, from a mirror that is behind', async () => {
    // The lagging mirror comes first: it is the one the proxy would ask.
    const proxy = await startTestProxy([behind.url, ahead.url], { PROXY_FEED_URL: ahead.url });
    cleanups.push(() => proxy.close());
    await following(ahead, 1);

    const before404 = await request(proxy.url, '/news/embargoed');
    assert.equal(before404.status, 404);
    const home = await request(proxy.url, '/');
    assert.match(home.body, /home v1/);
    await until('the old home page is cached', async () => /hit/.test((await request(proxy.url, '/')).cacheStatus));

    await publishWhileCut(
      proxy,
      2,
      3,
      { path: '/news/embargoed', body: '<html>the embargoed story</html>' },
      'home v2',
    );

    // The lagging mirror still has the old answers, and says how far it is.
    const stale404 = await rawGet(behind.url, '/news/embargoed');
    assert.equal(stale404.status, 404);
    assert.equal(stale404.headers['hyperstatic-position'], '2');
    assert.match((await rawGet(behind.url, '/')).text, /home v1/);

    for (let round = 0; round < 3; round++) {
      const story = await request(proxy.url, '/news/embargoed');
      assert.equal(story.status, 200, `round ${round}: ${story.cacheStatus}`);
      assert.match(story.body, /the embargoed story/);
      const fresh = await request(proxy.url, '/');
      assert.match(fresh.body, /home v2/, `round ${round}: ${fresh.cacheStatus}`);
      assert.equal(fresh.headers['hyperstatic-position'], '4');
      // Past every freshness lifetime: each refill must skip the lagging mirror again.
      proxy.advance(3600);
    }
    // Asked once; from then on the mirror known to have caught up is asked first for these paths.
    assert.equal(await metric(proxy, 'hyperstatic_proxy_upstream_behind_total', behind.url), 1);
    // A path no eviction named is still filled from the nearest mirror, lag or not.
    const untouched = await request(proxy.url, '/news/yesterday');
    assert.equal(untouched.status, 200);
    assert.equal(untouched.headers['hyperstatic-position'], '2');

    link.resume();
    await behind.waitForCursor(4, 5000);
    proxy.advance(3600);
    // Caught up: the nearest mirror answers again, from the new position, and nothing more is dropped.
    const caughtUp = await request(proxy.url, '/news/never-published');
    assert.equal(caughtUp.status, 404);
    assert.equal(caughtUp.headers['hyperstatic-position'], '4');
    assert.match((await request(proxy.url, '/')).body, /home v2/);
    assert.equal((await request(proxy.url, '/news/embargoed')).status, 200);
    assert.equal(await metric(proxy, 'hyperstatic_proxy_upstream_behind_total', behind.url), 1);
  });

  it('when no mirror catches up, waits, then serves the newest answer there is without storing it; a mirror that catches up meanwhile wins', async () => {
    // Only the lagging mirror serves; the feed comes from the one ahead.
    const proxy = await startTestProxy([behind.url], { PROXY_FEED_URL: ahead.url, PROXY_CATCH_UP_WAIT_MS: '3000' });
    cleanups.push(() => proxy.close());
    await following(ahead, 2);
    assert.match((await request(proxy.url, '/news/late')).status.toString(), /404/);

    await publishWhileCut(proxy, 3, 5, { path: '/news/late', body: '<html>late story</html>' }, 'home v3');

    // The page changed (it was not removed): after PROXY_CATCH_UP_WAIT_MS the newest answer there is, the
    // lagging mirror's 404, is better than an error; it is not stored, so the next reader asks again.
    for (let round = 0; round < 2; round++) {
      const started = Date.now();
      const older = await request(proxy.url, '/news/late');
      assert.equal(older.status, 404, `round ${round}`);
      assert.ok(Date.now() - started >= 2900, 'the proxy waited PROXY_CATCH_UP_WAIT_MS for a mirror to catch up first');
      assert.doesNotMatch(older.cacheStatus, /; hit/, `round ${round}: never served from the cache`);
    }

    // The mirror catches up while a reader waits: the reader gets the new page.
    const waiting = request(proxy.url, '/');
    await sleep(100);
    link.resume();
    const home = await waiting;
    assert.equal(home.status, 200);
    assert.match(home.body, /home v3/);
    const story = await request(proxy.url, '/news/late');
    assert.equal(story.status, 200);
    assert.match(story.body, /late story/);
  });
  it('never refills a page taken down from a mirror that still serves it', async () => {
    const proxy = await startTestProxy([behind.url, ahead.url], { PROXY_FEED_URL: ahead.url });
    cleanups.push(() => proxy.close());
    await following(ahead, 3);
    assert.equal((await request(proxy.url, '/news/yesterday')).status, 200);

    link.cut('reset');
    origin.publish(makeBatch(4, 7, [{ path: '/news/yesterday', op: 'gone', body: '<html>withdrawn</html>' }]));
    await ahead.waitForCursor(7, 5000);
    await feedEvictions(proxy, 1);
    assert.equal((await rawGet(behind.url, '/news/yesterday')).status, 200, 'the lagging mirror still serves it');

    for (let round = 0; round < 3; round++) {
      const gone = await request(proxy.url, '/news/yesterday');
      assert.equal(gone.status, 410, `round ${round}: ${gone.cacheStatus}`);
      assert.match(gone.body, /withdrawn/);
      proxy.advance(3600);
    }

    // A proxy whose only upstream is the lagging mirror: the page was removed (and this proxy, which connected after, knows only the feed's head), so after the wait an
    // error, never the old page (unlike a page that only changed).
    const alone = await startTestProxy([behind.url], { PROXY_FEED_URL: ahead.url, PROXY_CATCH_UP_WAIT_MS: '500' });
    cleanups.push(() => alone.close());
    await following(ahead, 4);
    const refused = await request(alone.url, '/news/yesterday');
    assert.equal(refused.status, 504);
    assert.doesNotMatch(refused.body, /yesterday/);
    link.resume();
  });
});
