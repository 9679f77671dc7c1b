// What readers see of a delete (docs/api.md, "Deleting"): a real embedded
// site (app, producer, mirror, cache proxy). A deleted article's page
// answers 410 on the mirror and through the proxy, and it leaves the home
// page, its section and tag pages, the feeds, the sitemap and the search
// index, while the article beside it stays. A lead image only it showed
// leaves public places; a deleted event goes the same way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startEmbedded } from '../../bin/embedded';
import { loadConfig } from '../../common/config';
import {
  DOCS_PER_FILE,
  docsFilePath,
  SEARCH_ROOT_PATH,
  searchTerms,
  shardOf,
  termShardPath,
} from '../../common/search-index-format';
import { indexRootPath } from '../../common/site-paths';
import { eventually } from './mirror-helpers';

type Site = Awaited<ReturnType<typeof startEmbedded>>;

describe('a deleted item is gone from every public place', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Site;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-delete-'));
    site = await startEmbedded(
      loadConfig({
        DATA_DIR: dataDir,
        APP_PORT: '0',
        MIRROR_PORT: '0',
        PROXY_PORT: '0',
        LOG_LEVEL: 'warn',
        PROXY_ACCESS_LOG: 'false',
        MIRROR_STATUS_INTERVAL_MS: '0',
      }),
    );
  });
  after(async () => {
    await site?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const auth = () => ({ 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` });
  async function send(method: string, url: string, body?: unknown): Promise<Response> {
    return fetch(`${site.appUrl}${url}`, {
      method,
      headers: auth(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  async function created(url: string, body: unknown): Promise<{ id: number; url: string }> {
    const res = await send('POST', url, body);
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { id: number; url: string };
  }
  async function get(url: string): Promise<{ status: number; text: string }> {
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  }

  /** What the reader's search script does, through the mirror: the links of the items holding `word`. */
  async function find(word: string): Promise<string[]> {
    const [term] = searchTerms(word);
    const root = JSON.parse((await get(`${site.mirrorUrl}${SEARCH_ROOT_PATH}`)).text) as { shards: string[] };
    const hash = root.shards[shardOf(term)];
    if (!hash) return [];
    const shard = JSON.parse((await get(`${site.mirrorUrl}${termShardPath(shardOf(term), hash)}`)).text) as Record<
      string,
      number[]
    >;
    const postings = shard[term] ?? [];
    const urls: string[] = [];
    for (let i = 1; i < postings.length; i += 2) {
      const file = docsFilePath(Math.floor(postings[i] / DOCS_PER_FILE));
      const docs = JSON.parse((await get(`${site.mirrorUrl}${file}`)).text) as Record<string, string[]>;
      urls.push(docs[String(postings[i])][0]);
    }
    return urls;
  }

  it('answers 410 for a deleted article and drops it from home, section, tag, feed, sitemap and search; its neighbour stays', async () => {
    assert.equal((await send('POST', '/api/sections', { slug: 'harbour', name: 'Harbour' })).status, 201);
    const lead = await fetch(`${site.appUrl}/api/media?name=lead.png`, {
      method: 'POST',
      headers: { authorization: `Bearer ${site.adminToken}` },
      body: new Uint8Array(
        await sharp({ create: { width: 960, height: 640, channels: 3, background: '#7a2c7b' } })
          .png()
          .toBuffer(),
      ),
    });
    assert.equal(lead.status, 201, await lead.clone().text());
    const image = (await lead.json()) as { sha256: string; path: string };
    const word = `Zanzibarquay${Date.now()}`;
    const doomed = await created('/api/articles', {
      title: 'Doomed harbour story',
      body: `<p>The ${word} collapsed.</p>`,
      section: 'harbour',
      tags: ['cranes'],
      status: 'published',
      leadImage: image.sha256,
      leadImageAlt: 'A purple quay',
    });
    const kept = await created('/api/articles', {
      title: 'Harbour story that stays',
      body: `<p>The ${word} stands.</p>`,
      section: 'harbour',
      tags: ['cranes'],
      status: 'published',
    });
    const listings = ['/', indexRootPath('section:harbour'), indexRootPath('tag:cranes'), '/feeds/site.atom.xml'];
    const sitemap = '/sitemaps/articles-0.xml';
    await eventually(async () => {
      assert.equal((await get(`${site.mirrorUrl}${doomed.url}`)).status, 200);
      assert.equal((await get(`${site.mirrorUrl}${image.path}`)).status, 200);
      for (const p of listings) {
        const page = await get(`${site.mirrorUrl}${p}`);
        assert.equal(page.status, 200, p);
        assert.ok(page.text.includes(doomed.url), `${p} links the article before the delete`);
        assert.ok(page.text.includes(kept.url), `${p} links its neighbour`);
      }
      assert.ok((await get(`${site.mirrorUrl}${sitemap}`)).text.includes(doomed.url));
      assert.deepEqual((await find(word)).sort(), [doomed.url, kept.url].sort());
    }, 30_000);
    // The proxy holds a copy before the delete: it must not outlive it.
    assert.equal((await get(`${site.publicUrl}${doomed.url}`)).status, 200);

    const res = await send('DELETE', `/api/articles/${doomed.id}`, { reason: 'published by mistake' });
    assert.equal(res.status, 200, await res.clone().text());

    await eventually(async () => {
      for (const base of [site.mirrorUrl, site.publicUrl]) {
        const page = await get(`${base}${doomed.url}`);
        assert.equal(page.status, 410, `${base}${doomed.url}`);
        assert.doesNotMatch(page.text, /Doomed harbour story/, 'the tombstone names nothing of it');
      }
      for (const p of listings) {
        const page = await get(`${site.mirrorUrl}${p}`);
        assert.equal(page.status, 200, p);
        assert.ok(!page.text.includes(doomed.url), `${p} no longer links it`);
        assert.ok(page.text.includes(kept.url), `${p} still links its neighbour`);
      }
      assert.ok(!(await get(`${site.mirrorUrl}${sitemap}`)).text.includes(doomed.url), 'out of the sitemap');
      assert.deepEqual(await find(word), [kept.url], 'out of the search index');
      assert.ok([404, 410].includes((await get(`${site.mirrorUrl}${image.path}`)).status), 'its lead image is gone');
    }, 30_000);
    assert.equal((await get(`${site.mirrorUrl}${kept.url}`)).status, 200);
  });

  it('answers 410 for a deleted event and drops it from the events listing', async () => {
    const stays = await created('/api/events', {
      title: 'Regatta',
      body: '<p>Sails</p>',
      startsAt: '2031-06-01T10:00:00Z',
      location: 'Bay',
      status: 'published',
    });
    const event = await created('/api/events', {
      title: 'Cancelled fair',
      body: '<p>Stalls</p>',
      startsAt: '2031-06-02T10:00:00Z',
      location: 'Quay',
      status: 'published',
    });
    await eventually(async () => {
      assert.equal((await get(`${site.mirrorUrl}${event.url}`)).status, 200);
      assert.ok((await get(`${site.mirrorUrl}/events`)).text.includes(event.url));
    }, 30_000);
    assert.equal((await send('DELETE', `/api/events/${event.id}`)).status, 200);
    await eventually(async () => {
      assert.equal((await get(`${site.mirrorUrl}${event.url}`)).status, 410);
      const listing = (await get(`${site.mirrorUrl}/events`)).text;
      assert.ok(!listing.includes(event.url), 'out of the events listing');
      assert.ok(listing.includes(stays.url));
    }, 30_000);
  });
});
