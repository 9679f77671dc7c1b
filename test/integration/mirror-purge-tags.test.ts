// A mirror labels every page it serves with purge tags (Surrogate-Key and
// Cache-Tag) for a CDN in front, one set per page kind, and the cache proxy
// passes them on to that CDN.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { makeBatch, startFakeOrigin } from './mirror-fake-origin';
import { rawGet, startTestMirror } from './mirror-helpers';
import { request, startTestProxy } from './proxy-helpers';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const SHA = 'cd'.repeat(32);

describe('mirror purge tags', () => {
  test('sends Surrogate-Key and Cache-Tag naming the item, section, tag and kind of each page, through the proxy too', async () => {
    const origin = await startFakeOrigin();
    cleanups.push(() => origin.close());
    origin.publish(
      makeBatch(1, 1, [
        { path: '/news/flood-warning', kind: 'article' },
        { path: `/media/${SHA}.jpg`, body: 'jpeg', kind: 'media', contentType: 'image/jpeg' },
        { path: '/sections/world/2026-11', kind: 'index' },
        { path: '/tags/climate', kind: 'index' },
        { path: '/feeds/tags/climate.rss.xml', kind: 'feed', contentType: 'application/rss+xml' },
        { path: '/', kind: 'index' },
      ]),
    );
    const mirror = await startTestMirror({ origins: [origin.url] });
    cleanups.push(() => mirror.close());
    await mirror.waitForCursor(6, 5000);

    const expected: Record<string, string> = {
      '/news/flood-warning': 'site kind:article item:article:flood-warning',
      [`/media/${SHA}.jpg`]: `site kind:media media:${SHA}`,
      '/sections/world/2026-11': 'site kind:index section:world',
      '/tags/climate': 'site kind:index tag:climate',
      '/feeds/tags/climate.rss.xml': 'site kind:feed tag:climate',
      '/': 'site kind:index home',
    };
    for (const [path, keys] of Object.entries(expected)) {
      const page = await rawGet(mirror.url, path);
      assert.equal(page.status, 200, path);
      assert.equal(page.headers['surrogate-key'], keys, path);
      assert.equal(page.headers['cache-tag'], keys.replaceAll(' ', ','), path);
    }
    // A 304 carries them as well: a CDN that revalidates keeps the tags current.
    const first = await rawGet(mirror.url, '/news/flood-warning');
    const revalidated = await rawGet(mirror.url, '/news/flood-warning', {
      'if-none-match': String(first.headers.etag),
    });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers['surrogate-key'], expected['/news/flood-warning']);

    const proxy = await startTestProxy([mirror.url]);
    cleanups.push(() => proxy.close());
    for (const [path, keys] of Object.entries(expected)) {
      const reply = await request(proxy.url, path);
      assert.equal(reply.headers['surrogate-key'], keys, path);
      assert.equal(reply.headers['cache-tag'], keys.replaceAll(' ', ','), path);
    }
  });
});
