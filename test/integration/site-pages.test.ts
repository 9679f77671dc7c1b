// Every public page kind finished, on the embedded site as `npm start` runs
// it (no `hyperstatic rebuild`): the mirror serves the styled 404 page with
// status 404, moves a trailing slash or capitals with a 301, and serves the
// section and tag indexes, the favicon and the web app manifest; the home
// page shows a featured story once; article, event and listing pages carry
// canonical URLs, Open Graph and Twitter tags and JSON-LD. Control
// characters are refused at save with a 400 naming the field, and a title
// that reached the database anyway (written behind the app's back) leaves
// the RSS and Atom feeds well-formed XML, every Atom entry with an author.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { loadConfig } from '../../common/config';
import { createDatabase, type Database } from '../../common/db/database';
import { waitFor } from '../harness/wait';
import { childrenNamed, parseXml } from '../support/xml';
import { rawGet } from './mirror-helpers';

const PUBLIC_URL = 'https://news.example';

describe('public page kinds on the embedded site', { timeout: 120_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let db: Database;

  const get = (target: string, headers: Record<string, string> = {}) => rawGet(site.mirrorUrl, target, headers);
  const api = (method: string, url: string, body: unknown) =>
    fetch(`${site.appUrl}${url}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify(body),
    });
  const jsonLdOf = (html: string) =>
    JSON.parse(/<script type="application\/ld\+json">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null') as Record<
      string,
      unknown
    >;
  const meta = (html: string, property: string) =>
    new RegExp(`<meta (?:property|name)="${property.replace(/[:.]/g, '\\$&')}" content="([^"]*)">`).exec(html)?.[1];

  before(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hs-site-pages-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      APP_PORT: '0',
      MIRROR_PORT: '0',
      PROXY_PORT: '0',
      PRODUCER_PORT: '0',
      LOG_LEVEL: 'silent',
      PROXY_ACCESS_LOG: 'false',
      MIRROR_STATUS_INTERVAL_MS: '0',
      PUBLIC_URL,
      PUBLIC_SUBMIT_URL: 'https://editor.news.example/submit',
    });
    site = await startEmbedded(config);
    db = createDatabase(config.databaseUrl);
    await waitFor(async () => (await get('/sections')).status === 200 && (await get('/404.html')).status === 200, {
      what: 'the sample site rendered and mirrored',
      timeoutMs: 60_000,
    });
  });

  after(async () => {
    await db?.destroy();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('answers a missing path with the styled 404 page, status 404, on first start without a rebuild', async () => {
    for (const target of ['/no/such/page', '/news/never-written', '/sections/sport']) {
      const res = await get(target);
      assert.equal(res.status, 404, target);
      // Fresh for a second and no more: a cache that filled it from a mirror behind asks again soon (mirrors/page-route.ts).
      assert.equal(res.headers['cache-control'], 'public, max-age=1, must-revalidate');
      assert.match(res.headers['content-type'] ?? '', /^text\/html/);
      assert.match(res.text, /<html lang="en" dir="ltr">/);
      assert.match(res.text, /<h1>Page not found<\/h1>/);
      assert.match(res.text, /<link rel="stylesheet" href="\/assets\/site-[0-9a-f]{16}\.css">/);
      // The footer links the list of other places to read the site (/mirrors); the page itself speaks to readers.
      const main = /<main[^>]*>([\s\S]*)<\/main>/.exec(res.text)?.[1] ?? '';
      assert.match(main, /There is no page at this address/);
      assert.doesNotMatch(main, /mirror/i, 'readers are not told about mirrors');
    }
    const head = await rawGet(site.mirrorUrl, '/no/such/page', {}, 'HEAD');
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
  });

  it('moves a trailing slash or capital letters to the published path with a 301, keeping the query', async () => {
    for (const [target, location] of [
      ['/sections/news/', '/sections/news'],
      ['/Sections/News', '/sections/news'],
      ['/TAGS/', '/tags'],
      ['/sections/news/?ref=mail', '/sections/news?ref=mail'],
    ]) {
      const res = await get(target);
      assert.equal(res.status, 301, target);
      assert.equal(res.headers.location, location, target);
    }
    assert.equal((await get('/sections/sport/')).status, 404, 'nothing to move to: the 404 page');
  });

  it('serves the section and tag indexes, listing only those with articles', async () => {
    const sections = await get('/sections');
    assert.equal(sections.status, 200);
    for (const name of ['News', 'Culture', 'Opinion'])
      assert.match(sections.text, new RegExp(`<a href="/sections/${name.toLowerCase()}">${name}</a>`));
    const tags = await get('/tags');
    assert.equal(tags.status, 200);
    assert.match(tags.text, /<a href="\/tags\/floods" rel="tag">Floods<\/a>/);
    assert.doesNotMatch(tags.text, /\/tags\/water"/, "a draft's tag has no public listing");

    // A new section shows on the index once its first article is published.
    await db('sections').insert({ slug: 'sport', name: 'Sport' });
    const res = await api('POST', '/api/articles', {
      title: 'Harbour rowing club wins the cup',
      body: '<p>By a length.</p>',
      section: 'sport',
      tags: ['Rowing'],
      status: 'published',
    });
    assert.equal(res.status, 201, await res.clone().text());
    await waitFor(async () => /\/sections\/sport"/.test((await get('/sections')).text), {
      what: 'the section index re-rendered with the new section',
      timeoutMs: 30_000,
    });
    assert.match((await get('/tags')).text, /\/tags\/rowing"/);
    assert.match((await get('/')).text, /<nav class="site"[^]*?<a href="\/sections\/sport">Sport<\/a>/);
  });

  it('serves the favicon and a web app manifest from configuration', async () => {
    const icon = await get('/favicon.ico');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers['content-type'], 'image/x-icon');
    assert.deepEqual([...icon.body.subarray(0, 4)], [0, 0, 1, 0], 'an ICO file');
    const manifest = await get('/manifest.webmanifest');
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers['content-type'], 'application/manifest+json');
    const parsed = JSON.parse(manifest.text) as { name: string; icons: { src: string; sizes: string }[] };
    assert.equal(parsed.name, 'Hyperstatic News');
    assert.equal(parsed.icons[0].sizes, '512x512');
    assert.equal((await get(parsed.icons[0].src)).headers['content-type'], 'image/png');
    const home = (await get('/')).text;
    assert.match(home, /<link rel="icon" href="\/favicon.ico" sizes="any">/);
    assert.match(home, /<link rel="manifest" href="\/manifest.webmanifest">/);
  });

  it('shows the featured story once on the home page, a header built from the sections and the submission link', async () => {
    const home = (await get('/')).text;
    assert.equal(home.match(/River district residents organise flood watch/g)?.length, 1);
    assert.match(home, /<section class="featured"/);
    const nav = /<nav class="site" aria-label="Site">([^]*?)<\/nav>/.exec(home)?.[1] ?? '';
    for (const name of ['News', 'Culture', 'Opinion', 'Events']) assert.match(nav, new RegExp(`>${name}</a>`));
    assert.match(nav, /<a href="https:\/\/editor.news.example\/submit">Submit a story<\/a>/);
  });

  it('gives article, event and listing pages canonical URLs, Open Graph, Twitter cards and JSON-LD', async () => {
    const article = (await get('/news/river-district-residents-organise-flood-watch')).text;
    assert.match(
      article,
      /<link rel="canonical" href="https:\/\/news.example\/news\/river-district-residents-organise-flood-watch">/,
    );
    assert.equal(meta(article, 'og:type'), 'article');
    assert.equal(meta(article, 'og:title'), 'River district residents organise flood watch');
    assert.equal(meta(article, 'og:url'), `${PUBLIC_URL}/news/river-district-residents-organise-flood-watch`);
    assert.ok(meta(article, 'og:description'));
    assert.ok(meta(article, 'article:published_time'));
    assert.equal(meta(article, 'article:section'), 'News');
    assert.ok(meta(article, 'twitter:card'));
    const ld = jsonLdOf(article);
    assert.equal(ld['@type'], 'NewsArticle');
    assert.equal(ld.headline, 'River district residents organise flood watch');
    assert.ok(ld.datePublished);
    assert.ok(Array.isArray(ld.author) && (ld.author as unknown[]).length === 1);
    assert.equal((ld.publisher as { name: string }).name, 'Hyperstatic News');

    const calendar = (await get('/events')).text;
    const eventPath = /<a href="(\/event\/[^"]+)">/.exec(calendar)?.[1];
    assert.ok(eventPath, 'the calendar links an event');
    const event = (await get(eventPath)).text;
    assert.match(event, new RegExp(`<link rel="canonical" href="${PUBLIC_URL}${eventPath}">`));
    const eventLd = jsonLdOf(event);
    assert.equal(eventLd['@type'], 'Event');
    assert.ok(eventLd.name && eventLd.startDate);
    assert.equal((eventLd.publisher as { name: string }).name, 'Hyperstatic News');
    assert.ok(meta(event, 'og:title'));

    for (const listing of ['/', '/articles', '/sections/news', '/sections', '/tags/floods']) {
      const html = (await get(listing)).text;
      assert.equal(meta(html, 'og:url'), `${PUBLIC_URL}${listing}`, listing);
      assert.ok(meta(html, 'og:title'), listing);
    }
  });

  it('refuses control characters and unpaired surrogates at save with a 400 naming the field, writing nothing', async () => {
    const count = async () => Number((await db('articles').count({ n: '*' }))[0].n);
    const before = await count();
    for (const [field, value] of [
      ['title', 'Bell \u0001 rings'],
      ['title', 'Colour \u001b[31m red'],
      ['summary', 'nul \u0000 here'],
      ['title', 'half \ud800 pair'],
    ] as const) {
      const res = await api('POST', '/api/articles', { title: 'ok', body: '<p>x</p>', [field]: value });
      assert.equal(res.status, 400, `${field} ${JSON.stringify(value)}`);
      const error = (await res.json()) as { error: { field?: string; message: string } };
      assert.equal(error.error.field, field);
    }
    assert.equal(await count(), before);
  });

  it('keeps RSS and Atom well-formed XML when a title holding control characters reached the database', async () => {
    const res = await api('POST', '/api/articles', {
      title: 'Tidy title',
      summary: 'Tidy summary',
      body: '<p>x</p>',
      section: 'news',
      status: 'published',
    });
    assert.equal(res.status, 201);
    const saved = (await res.json()) as { id: number };
    // Written behind the app's back (an old row, a manual fix), with no author: an anonymous item.
    await db('articles')
      .where({ id: saved.id })
      .update({ title: 'Hostile \u0001\u001b[31m\u0000 title \u000b', summary: 'Sum\u0008mary', author_id: null });
    await db('item_authors').where({ topic: 'article', item_id: saved.id }).delete();
    const update = await api('PUT', `/api/articles/${saved.id}`, { body: '<p>re-render</p>' });
    assert.equal(update.status, 200, await update.clone().text());
    for (const feed of ['/feeds/site.atom.xml', '/feeds/site.rss.xml', '/feeds/sections/news.atom.xml']) {
      const text = await waitFor(
        async () => {
          const body = (await get(feed)).text;
          return body.includes('Hostile') ? body : undefined;
        },
        { what: `${feed} re-rendered`, timeoutMs: 30_000 },
      );
      assert.doesNotThrow(() => parseXml(text), `${feed} is well-formed XML`);
      assert.match(text, /Hostile \[31m title /);
    }
    const entries = childrenNamed(parseXml((await get('/feeds/site.atom.xml')).text), 'entry');
    const field = (e: (typeof entries)[number], ...names: string[]) =>
      names.reduce<typeof e | undefined>((at, name) => at && childrenNamed(at, name)[0], e)?.text;
    assert.ok(entries.length > 5);
    for (const entry of entries) assert.ok(field(entry, 'author', 'name'), `"${field(entry, 'title')}" has an author`);
    const anonymous = entries.find((e) => field(e, 'title')?.startsWith('Hostile'));
    assert.equal(
      anonymous && field(anonymous, 'author', 'name'),
      'Hyperstatic News',
      'an item with no author is by the site',
    );
    assert.throws(() => parseXml('<t>\u0001</t>'), /disallowed character/, 'the reader refuses what the writers drop');
    const sitemap = parseXml((await get('/sitemaps/articles-0.xml')).text);
    assert.ok(childrenNamed(sitemap, 'url').length > 5, 'the sitemap shard parses and lists the articles');
  });
});
