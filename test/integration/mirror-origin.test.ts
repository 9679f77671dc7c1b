// The mirror against the real origin (embedded mode: app, producer, mirror
// and proxy on SQLite with the in-process queue): what an editor publishes
// reaches the mirror through the real feed and blob endpoints, and no index
// the mirror serves ever links to a page it lacks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { loadConfig } from '../../common/config';
import { followFeed } from '../../common/feed-client';
import type { FeedBatch } from '../../common/feed-format';
import { createLogger } from '../../common/logger';
import { rawGet, tempDir } from './mirror-helpers';

/** Resolves with the first batch on `feedUrl`'s feed (after `after`) that touches `path`. */
function nextBatchTouching(feedUrl: string, path: string, after: number, timeoutMs = 15_000): Promise<FeedBatch> {
  return new Promise((resolve, reject) => {
    let cursor = after;
    const follower = followFeed({
      urls: [feedUrl],
      after: () => cursor,
      onBatch: async (batch) => {
        cursor = batch.entries[batch.entries.length - 1].seq;
        if (batch.entries.some((e) => e.path === path)) {
          clearTimeout(timer);
          follower.close();
          resolve(batch);
        }
      },
      logger: createLogger('silent', 'test'),
      reconnectMs: 20,
    });
    const timer = setTimeout(() => {
      follower.close();
      reject(new Error(`no batch touching ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

async function mirrorCursor(internalUrl: string | undefined): Promise<number> {
  return ((await (await fetch(`${internalUrl}/_mirror/status`)).json()) as { cursor: number }).cursor;
}

/** Every same-site link on a page must resolve on the mirror (docs/mirrors.md, "Applying batches"). */
async function assertNoDanglingLinks(mirrorUrl: string, pagePath: string): Promise<number> {
  const page = await rawGet(mirrorUrl, pagePath);
  assert.equal(page.status, 200, `${pagePath} answered ${page.status}`);
  const links = [...page.text.matchAll(/href="(\/[^"#?]*)"/g)]
    .map((m) => m[1])
    .filter((href) => !href.startsWith('//'));
  for (const href of new Set(links)) {
    const res = await rawGet(mirrorUrl, encodeURI(decodeURI(href)));
    assert.ok([200, 301].includes(res.status), `${pagePath} links to ${href}, which the mirror answers ${res.status}`);
  }
  return links.length;
}

describe('mirror following the real origin', () => {
  let site: Embedded;

  before(async () => {
    const config = loadConfig({
      DATA_DIR: tempDir('mirror-origin'),
      APP_PORT: '0',
      MIRROR_PORT: '0',
      MIRROR_INTERNAL_PORT: '0',
      PROXY_PORT: '0',
      LOG_LEVEL: 'silent',
      REDIS_URL: '',
      DATABASE_URL: '',
      MIRROR_RECONNECT_MS: '20',
    });
    site = await startEmbedded(config);
  });

  after(async () => {
    await site?.close();
  });

  test('publishing an article puts it and the home page that lists it on the mirror together', async () => {
    assert.ok(site.adminToken, 'a fresh data dir is seeded with an admin token');
    const start = await mirrorCursor(site.mirrorInternalUrl);
    const title = `Mirror check ${Date.now()}`;
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, body: '<p>Published through the real feed.</p>', status: 'published' }),
    });
    assert.equal(res.status, 201);
    const saved = (await res.json()) as { id: number; url: string };

    // The mirror's own feed only carries a batch once the mirror has applied it.
    const batch = await nextBatchTouching(site.mirrorUrl, saved.url, start);
    const paths = batch.entries.map((e) => e.path);
    assert.ok(paths.includes('/'), `the batch also updates the home page: ${paths.join(', ')}`);
    assert.ok(paths.indexOf(saved.url) < paths.indexOf('/'), 'content comes before the indexes that link to it');

    const article = await rawGet(site.mirrorUrl, saved.url);
    assert.equal(article.status, 200);
    assert.ok(article.text.includes(title));
    assert.equal(article.headers['hyperstatic-kind'], 'article');
    const home = await rawGet(site.mirrorUrl, '/');
    assert.ok(home.text.includes(title), 'the home page lists the new article');
    assert.ok((await assertNoDanglingLinks(site.mirrorUrl, '/')) > 0);
  });

  test('hiding an article turns its mirrored page into a 410 tombstone and drops it from the home page', async () => {
    const start = await mirrorCursor(site.mirrorInternalUrl);
    const title = `To be hidden ${Date.now()}`;
    const headers = { authorization: `Bearer ${site.adminToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title, body: '<p>Soon gone.</p>', status: 'published' }),
    });
    assert.equal(created.status, 201);
    const saved = (await created.json()) as { id: number; url: string };
    const published = await nextBatchTouching(site.mirrorUrl, saved.url, start);
    const seq = published.entries[published.entries.length - 1].seq;

    const hidden = await fetch(`${site.appUrl}/api/articles/${saved.id}`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ status: 'hidden' }),
    });
    assert.ok(hidden.ok, `hiding answered ${hidden.status}`);
    const batch = await nextBatchTouching(site.mirrorUrl, saved.url, seq);
    assert.equal(batch.entries.find((e) => e.path === saved.url)?.op, 'gone');

    const page = await rawGet(site.mirrorUrl, saved.url);
    assert.equal(page.status, 410);
    assert.ok(!(await rawGet(site.mirrorUrl, '/')).text.includes(title));
    await assertNoDanglingLinks(site.mirrorUrl, '/');
  });
});
