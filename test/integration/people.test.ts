// People on the embedded site as `npm start` runs it (issue 16 item 4):
// bylines publish display names (never login names) linking to author
// pages; an item has several authors in order; an unknown author is a 400
// naming the field with nothing saved; author pages list the author's
// articles and events by month, paginated like every listing, on the
// mirror; and a profile change re-renders the pages showing the byline.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import { createApiToken } from '../../app/auth/users';
import { createDatabase, type Database } from '../../common/db/database';
import { ARCHIVE_PAGE_SIZE } from '../../common/site-paths';
import { waitFor } from '../harness/wait';
import { embeddedTestConfig } from '../support/embedded-config';
import { childrenNamed, parseXml } from '../support/xml';
import { rawGet } from './mirror-helpers';

const PUBLIC_URL = 'https://news.example';

describe('people: bylines and author pages', { timeout: 280_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let db: Database;

  const get = (target: string) => rawGet(site.mirrorUrl, target);
  const api = (method: string, url: string, body?: unknown, token = site.adminToken) =>
    fetch(`${site.appUrl}${url}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** The mirror's copy of `target` once it satisfies `ok`. */
  const mirrored = (target: string, ok: (text: string, status: number) => boolean, what: string) =>
    waitFor(
      async () => {
        const res = await get(target);
        return ok(res.text, res.status) ? res : undefined;
      },
      { what, timeoutMs: 60_000 },
    );
  const jsonLdOf = (html: string) =>
    JSON.parse(/<script type="application\/ld\+json">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null') as Record<
      string,
      unknown
    >;

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('people', { MIRROR_STATUS_INTERVAL_MS: '0', PUBLIC_URL }));
    site = await startEmbedded(config);
    db = createDatabase(config.databaseUrl);
    await waitFor(async () => (await get('/articles')).status === 200, {
      what: 'the sample site rendered and mirrored',
      timeoutMs: 60_000,
    });
    for (const [name, displayName, bio] of [
      ['ana', 'Ana Lima', 'Covers the harbour and the courts.'],
      ['bo', 'Bo Chen', ''],
    ]) {
      assert.equal((await api('POST', '/api/users', { name, role: 'editor', password: null })).status, 201);
      const res = await api('PUT', `/api/users/${name}/profile`, { displayName, bio });
      assert.equal(res.status, 200, await res.clone().text());
    }
  });

  after(async () => {
    await db?.destroy();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses an unknown author or a bad profile with a 400 naming the field, and saves nothing', async () => {
    const articles = Number((await db('articles').count({ n: '*' }).first())?.n);
    const unknown = await api('POST', '/api/articles', {
      title: 'Ghost-written',
      body: '<p>x</p>',
      authors: ['ana', 'nobody'],
    });
    assert.equal(unknown.status, 400);
    const error = (await unknown.json()) as { field?: string; error?: { field?: string }; message?: string };
    assert.equal(error.field ?? error.error?.field, 'authors');
    assert.match(JSON.stringify(error), /nobody/);
    assert.equal(Number((await db('articles').count({ n: '*' }).first())?.n), articles, 'nothing saved');

    const notArray = await api('POST', '/api/articles', { title: 'T', body: '<p>x</p>', authors: 'ana' });
    assert.equal(notArray.status, 400);
    assert.match(await notArray.text(), /authors/);

    const before = await db('users').where({ name: 'ana' }).first('display_name', 'bio', 'slug');
    for (const [body, field] of [
      [{ displayName: '   ' }, 'displayName'],
      [{ bio: 'x'.repeat(601) }, 'bio'],
      [{ slug: 'Not A Slug' }, 'slug'],
      [{ nickname: 'Ana' }, 'nickname'],
    ] as const) {
      const res = await api('PUT', '/api/users/ana/profile', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(await res.text(), new RegExp(field));
    }
    assert.deepEqual(await db('users').where({ name: 'ana' }).first('display_name', 'bio', 'slug'), before);

    // A user edits their own display name and bio; the address and other people's profiles are an admin's.
    const own = await createApiToken(db, 'ana', 'people test');
    const slug = await api('PUT', '/api/me/profile', { slug: 'ana-the-great' }, own);
    assert.equal(slug.status, 403);
    assert.equal((await api('PUT', '/api/users/bo/profile', { bio: 'Hijacked.' }, own)).status, 403);
    assert.deepEqual(await db('users').where({ name: 'ana' }).first('display_name', 'bio', 'slug'), before);
    const me = await api('GET', '/api/me', undefined, own);
    assert.deepEqual(
      { ...((await me.json()) as Record<string, unknown>), id: undefined },
      { id: undefined, name: 'ana', role: 'editor', displayName: 'Ana Lima', bio: before.bio, slug: 'ana-lima' },
    );
  });

  it('takes an author named twice (in any case) once, in the place first named', async () => {
    const res = await api('POST', '/api/articles', {
      title: 'Named twice',
      body: '<p>x</p>',
      authors: ['ana', 'bo', 'Ana'],
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { id } = (await res.json()) as { id: number };
    const names = await db('item_authors')
      .join('users', 'users.id', 'item_authors.user_id')
      .where({ topic: 'article', item_id: id })
      .orderBy('position')
      .pluck('users.name');
    assert.deepEqual(names, ['ana', 'bo']);
  });

  it('publishes co-authors in order by display name, linking their pages, on the page, cards, feeds and JSON-LD', async () => {
    const res = await api('POST', '/api/articles', {
      title: 'Harbour wall repaired',
      summary: 'Two reporters on the repairs.',
      body: '<p>The wall holds.</p>',
      status: 'published',
      authors: ['ana', 'bo'],
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { url } = (await res.json()) as { url: string };
    const page = await mirrored(url, (t) => t.includes('Harbour wall repaired'), 'the article on the mirror');
    assert.match(
      page.text,
      /By <a href="\/authors\/ana-lima" rel="author"><bdi>Ana Lima<\/bdi><\/a> and <a href="\/authors\/bo-chen"/,
    );
    assert.doesNotMatch(page.text, /<bdi>ana<\/bdi>|<bdi>admin<\/bdi>/, 'no login name is published');
    assert.deepEqual(jsonLdOf(page.text).author, [
      { '@type': 'Person', name: 'Ana Lima', url: `${PUBLIC_URL}/authors/ana-lima` },
      { '@type': 'Person', name: 'Bo Chen', url: `${PUBLIC_URL}/authors/bo-chen` },
    ]);
    const listing = (await get('/articles')).text;
    assert.match(
      listing,
      /<a href="\/authors\/ana-lima" rel="author"><bdi>Ana Lima<\/bdi><\/a> and <a href="\/authors\/bo-chen"/,
    );
    const atom = parseXml((await get('/feeds/site.atom.xml')).text);
    const entry = childrenNamed(atom, 'entry').find(
      (e) => childrenNamed(e, 'title')[0]?.text === 'Harbour wall repaired',
    );
    assert.ok(entry);
    assert.deepEqual(
      childrenNamed(entry, 'author').map((a) => [childrenNamed(a, 'name')[0]?.text, childrenNamed(a, 'uri')[0]?.text]),
      // Root-relative like the entries' alternate links: a feed read from a mirror links that mirror.
      [
        ['Ana Lima', '/authors/ana-lima'],
        ['Bo Chen', '/authors/bo-chen'],
      ],
    );
    assert.match(
      (await get('/feeds/site.rss.xml')).text,
      /<dc:creator>Ana Lima<\/dc:creator>\s*<dc:creator>Bo Chen<\/dc:creator>/,
    );

    const author = await mirrored('/authors/ana-lima', (t) => t.includes('Harbour wall repaired'), 'her author page');
    assert.equal(author.status, 200);
    assert.match(author.text, /<h1><bdi>Ana Lima<\/bdi><\/h1>/);
    assert.match(author.text, /Covers the harbour and the courts\./);
    const index = await mirrored('/authors', (t) => t.includes('Bo Chen'), 'the authors index');
    assert.match(index.text, /href="\/authors\/ana-lima"/);
    const sitemap = await mirrored('/sitemaps/authors.xml', (t) => t.includes('bo-chen'), 'the authors sitemap');
    assert.match(sitemap.text, new RegExp(`<loc>${PUBLIC_URL}/authors/ana-lima</loc>`));
    assert.match((await get('/sitemap.xml')).text, /\/sitemaps\/authors\.xml/);
  });

  it('paginates an author page by month like every listing, with events among the articles', async () => {
    // Back-dated into one month, one more than a page holds.
    const month = Date.UTC(2025, 2, 1);
    for (let i = 0; i < ARCHIVE_PAGE_SIZE + 1; i += 6) {
      await Promise.all(
        Array.from({ length: Math.min(6, ARCHIVE_PAGE_SIZE + 1 - i) }, async (_, j) => {
          const res = await api('POST', '/api/articles', {
            title: `March story ${i + j + 1}`,
            body: '<p>x</p>',
            status: 'published',
            publishedAt: new Date(month + (i + j) * 3_600_000).toISOString(),
            authors: ['bo'],
          });
          assert.equal(res.status, 201, await res.clone().text());
        }),
      );
    }
    const event = await api('POST', '/api/events', {
      title: 'Harbour open evening',
      body: '<p>x</p>',
      startsAt: '2025-03-20T18:00:00Z',
      status: 'published',
      authors: ['bo'],
    });
    assert.equal(event.status, 201, await event.clone().text());
    const second = await mirrored(
      '/authors/bo-chen/2025-03/2',
      (t, status) => status === 200 && t.includes('Harbour open evening'),
      'the second page of March',
    );
    const first = await mirrored('/authors/bo-chen/2025-03', (t) => t.includes('rel="next"'), 'the first page');
    assert.match(first.text, /March story 1</);
    assert.match(first.text, /href="\/authors\/bo-chen\/2025-03\/2"/);
    assert.match(second.text, /rel="prev" href="\/authors\/bo-chen\/2025-03"/);
    assert.match(second.text, /March story 51</);
    const root = (await get('/authors/bo-chen')).text;
    assert.match(root, /href="\/authors\/bo-chen\/2025-03"/);
    assert.match(root, /<span class="meta">\(52\)<\/span>/, 'March holds 51 articles and the event');
    const eventPage = (await get('/event/harbour-open-evening')).text;
    assert.match(eventPage, /By <a href="\/authors\/bo-chen" rel="author"><bdi>Bo Chen<\/bdi><\/a>/);
  });

  it('re-renders the bylines and the author page when a display name or bio changes', async () => {
    const res = await api('PUT', '/api/users/ana/profile', {
      displayName: 'Ana L. Lima',
      bio: 'Now on the courts beat.',
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { slug: string }).slug, 'ana-lima', 'the page keeps its address');
    for (const target of ['/news/harbour-wall-repaired', '/articles', '/authors/bo-chen', '/authors'])
      await mirrored(target, (t) => t.includes('Ana L. Lima'), `${target} shows the new name`);
    const author = await mirrored('/authors/ana-lima', (t) => t.includes('Now on the courts beat.'), 'the new bio');
    assert.match(author.text, /<h1><bdi>Ana L\. Lima<\/bdi><\/h1>/);
    assert.match((await get('/feeds/site.atom.xml')).text, /<name>Ana L\. Lima<\/name>/);
  });

  it('moves an item between author pages when its authors change; an author left with nothing is gone', async () => {
    const { id } = await db('articles').where({ slug: 'harbour-wall-repaired' }).first('id');
    const res = await api('PUT', `/api/articles/${id}`, { authors: ['bo'] });
    assert.equal(res.status, 200, await res.clone().text());
    await mirrored('/authors/ana-lima', (_t, status) => status === 410, 'her emptied page gone');
    const page = await mirrored(
      '/news/harbour-wall-repaired',
      (t) => !t.includes('Ana L. Lima'),
      'the byline without her',
    );
    assert.match(page.text, /By <a href="\/authors\/bo-chen" rel="author"><bdi>Bo Chen<\/bdi><\/a>/);
    const index = await mirrored('/authors', (t) => !t.includes('Ana L. Lima'), '/authors without her');
    assert.match(index.text, /Bo Chen/);
    assert.doesNotMatch((await get('/sitemaps/authors.xml')).text, /ana-lima/);
  });

  it("moves an author's page when an admin changes its address: the old one is gone, not left as it was", async () => {
    const res = await api('PUT', '/api/users/bo/profile', { displayName: 'Bo Chen', bio: '', slug: 'bo-c' });
    assert.equal(res.status, 200, await res.clone().text());
    await mirrored(
      '/authors/bo-c',
      (t, status) => status === 200 && t.includes('Bo Chen'),
      'the page at its new address',
    );
    await mirrored('/authors/bo-chen', (_t, status) => status === 410, 'the old address gone');
    await mirrored(
      '/news/harbour-wall-repaired',
      (t) => t.includes('href="/authors/bo-c"'),
      'the byline links the new page',
    );
  });
});
