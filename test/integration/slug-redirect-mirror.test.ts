// A published article's old address on mirrors and through the cache proxy
// (docs/mirrors.md, "Moved pages"): after its slug changes, the mirror answers
// the old path 301 with Location (the query kept), the proxy that had cached
// the old page forgets it and passes the 301 on, and a client that follows it
// lands on the article. Embedded mode: app, producer, mirror and proxy on
// SQLite with the in-process queue, over real sockets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { loadConfig } from '../../common/config';
import { eventually, rawGet, tempDir } from './mirror-helpers';

describe('a moved article on mirrors and through the cache proxy', () => {
  let site: Embedded;
  const send = (method: string, path: string, body: unknown) =>
    fetch(`${site.appUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${site.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    const config = loadConfig({
      DATA_DIR: tempDir('slug-redirect-mirror'),
      APP_PORT: '0',
      MIRROR_PORT: '0',
      MIRROR_INTERNAL_PORT: '0',
      PROXY_PORT: '0',
      LOG_LEVEL: 'silent',
      REDIS_URL: '',
      DATABASE_URL: '',
      MIRROR_RECONNECT_MS: '20',
      RELAY_INTERVAL_MS: '200',
    });
    site = await startEmbedded(config);
  });

  after(async () => {
    await site?.close();
  });

  test('answers the old path with a 301 to the new one, on the mirror and through the proxy', async () => {
    const created = await send('POST', '/api/articles', {
      title: 'Tram line extension',
      body: '<p>Six new stops by 2028.</p>',
      status: 'published',
    });
    assert.equal(created.status, 201);
    const { id, url: oldUrl } = (await created.json()) as { id: number; url: string };
    await eventually(async () => assert.equal((await rawGet(site.mirrorUrl, oldUrl)).status, 200), 15_000);
    // The proxy caches the page as it is now.
    assert.equal((await rawGet(site.publicUrl, oldUrl)).status, 200);

    const moved = await send('PUT', `/api/articles/${id}`, { slug: 'tram-line-six-new-stops' });
    assert.equal(moved.status, 200);
    const { url: newUrl } = (await moved.json()) as { url: string };
    assert.equal(newUrl, '/news/tram-line-six-new-stops');

    await eventually(async () => assert.equal((await rawGet(site.mirrorUrl, oldUrl)).status, 301), 15_000);
    const res = await rawGet(site.mirrorUrl, `${oldUrl}?from=newsletter`);
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `${newUrl}?from=newsletter`, 'the query goes along');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', 'the target parameter is not sent on');
    assert.match(res.headers['cache-control'] ?? '', /^public, max-age=3600, /);
    assert.match(res.text, new RegExp(`<a href="${newUrl}">`), 'the body links on for clients that do not follow');
    const head = await rawGet(site.mirrorUrl, oldUrl, {}, 'HEAD');
    assert.equal(head.status, 301);
    assert.equal(head.headers.location, newUrl);
    assert.equal(head.body.length, 0);
    assert.equal((await rawGet(site.mirrorUrl, newUrl)).status, 200);

    // The proxy evicted its copy of the old page with the batch, and passes the 301 on.
    await eventually(async () => {
      const proxied = await rawGet(site.publicUrl, oldUrl);
      assert.equal(proxied.status, 301);
      assert.equal(proxied.headers.location, newUrl);
    }, 15_000);
    const followed = await fetch(`${site.publicUrl}${oldUrl}`);
    assert.equal(followed.status, 200);
    assert.equal(new URL(followed.url).pathname, newUrl);
    assert.match(await followed.text(), /Six new stops by 2028/);

    // Renamed again: the first address skips the middle one.
    const again = await send('PUT', `/api/articles/${id}`, { slug: 'tram-line-2028' });
    assert.equal(again.status, 200);
    await eventually(async () => {
      for (const path of [oldUrl, newUrl]) {
        const hop = await rawGet(site.mirrorUrl, path);
        assert.equal(hop.status, 301, path);
        assert.equal(hop.headers.location, '/news/tram-line-2028', path);
      }
    }, 15_000);
  });
});
