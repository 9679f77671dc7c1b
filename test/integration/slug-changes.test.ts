// Editable slugs (docs/api.md, "Slugs"): a draft's slug changes freely; a
// published item's old slug becomes a redirect page journaled at the old
// path (meta refresh, canonical, noindex; its content type names the target
// so mirrors answer 301), chains end at the current slug, a slug another item
// left is refused, and the change is audited and kept in the history. Bad
// input is a 4xx naming the field and changes nothing. Real MariaDB, Redis
// and producer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { redirectTarget } from '../../common/redirect-page';
import { docKey } from '../../common/search-index-format';
import { sharedRedisUrl } from '../harness/shared';
import {
  api,
  assertConsistent,
  entriesAfter,
  journalHead,
  page,
  save,
  settled,
  Site,
  startSite,
} from './producer-helpers';

interface ApiError {
  error: { code: string; message: string; field?: string };
}

describe('changing slugs', () => {
  let site: Site;

  before(async () => {
    site = await startSite('slugs', await sharedRedisUrl());
  });

  after(async () => {
    await site?.close();
  });

  async function contentTypeOf(path: string): Promise<string | undefined> {
    return (await site.db('pages').where({ path }).first('content_type'))?.content_type as string | undefined;
  }

  it('lets a draft take a new slug, leaving no redirect behind', async () => {
    const draft = await save(site, 'POST', '/api/articles', { title: 'Working title', body: '<p>x</p>' });
    assert.equal(draft.slug, 'working-title');
    const renamed = await save(site, 'PUT', `/api/articles/${draft.id}`, { slug: 'harbour-dredging-plan' });
    assert.deepEqual(renamed, { id: draft.id, slug: 'harbour-dredging-plan', url: '/news/harbour-dredging-plan' });
    assert.equal((await site.db('slug_redirects').where({ item_id: draft.id, topic: 'article' })).length, 0);
    // The old slug is free again: it was never a public address.
    const other = await save(site, 'POST', '/api/articles', { title: 'Working title', body: '<p>y</p>' });
    assert.equal(other.slug, 'working-title');
    await settled(site.db);
  });

  it('refuses a malformed, overlong or taken slug with a 4xx naming slug, and changes nothing', async () => {
    const a = await save(site, 'POST', '/api/articles', { title: 'Slug owner', body: '<p>a</p>' });
    const b = await save(site, 'POST', '/api/articles', { title: 'Slug wanter', body: '<p>b</p>' });
    const before = await site.db('articles').where({ id: b.id }).first();
    const revisions = await site.db('revisions').where({ item_type: 'article', item_id: b.id }).count({ n: '*' });
    const cases: [unknown, number, RegExp][] = [
      [{ slug: 'Upper-Case' }, 400, /lowercase letters, digits and single hyphens/],
      [{ slug: 'two--hyphens' }, 400, /single hyphens/],
      [{ slug: 'trailing-' }, 400, /single hyphens/],
      [{ slug: 'with space' }, 400, /single hyphens/],
      [{ slug: '' }, 400, /single hyphens/],
      [{ slug: 'x'.repeat(121) }, 400, /longer than 120/],
      [{ slug: 42 }, 400, /must be a string/],
      [{ slug: a.slug, title: 'Changed too' }, 409, /already taken by another article/],
    ];
    for (const [body, status, message] of cases) {
      const res = await api(site, 'PUT', `/api/articles/${b.id}`, body);
      const json = (await res.json()) as ApiError;
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${json.error.message}`);
      assert.match(json.error.message, message);
      assert.equal(json.error.field, 'slug');
    }
    assert.deepEqual(await site.db('articles').where({ id: b.id }).first(), before, 'the row is unchanged');
    assert.deepEqual(
      await site.db('revisions').where({ item_type: 'article', item_id: b.id }).count({ n: '*' }),
      revisions,
      'no revision was recorded',
    );
    // Events validate the same way, within their own kind.
    const ev = await save(site, 'POST', '/api/events', {
      title: 'Slug owner',
      body: '<p>e</p>',
      startsAt: '2026-12-10T10:00:00Z',
    });
    assert.equal(ev.slug, 'slug-owner', 'unique within its kind: an article of that slug does not stop an event');
    const bad = await api(site, 'PUT', `/api/events/${ev.id}`, { slug: 'Bad_Slug' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as ApiError).error.field, 'slug');
    await settled(site.db);
  });

  it('journals a redirect page at a published article’s old path, and the chain ends at the current slug', async () => {
    const created = await save(site, 'POST', '/api/articles', {
      title: 'Ferry timetable changes',
      body: '<p>New times from Monday.</p>',
      section: 'news',
      tags: ['Transport'],
      status: 'published',
    });
    await settled(site.db);
    const first = created.url;
    assert.equal((await page(site.db, first))?.op, 'put');

    const head = await journalHead(site.db);
    const second = await save(site, 'PUT', `/api/articles/${created.id}`, { slug: 'ferry-winter-timetable' });
    await settled(site.db);
    const written = await entriesAfter(site.db, head);
    const at = (path: string) => written.filter((e) => e.path === path);
    assert.deepEqual(
      at(first).map((e) => [e.op, e.kind]),
      [['put', 'article']],
      'the old path gets one put: the redirect page',
    );
    assert.deepEqual(
      at(second.url).map((e) => e.op),
      ['put'],
    );
    assert.ok(
      written.findIndex((e) => e.path === second.url) < written.findIndex((e) => e.path === '/'),
      'the new page goes out before the indexes that link to it',
    );
    assert.equal(redirectTarget((await contentTypeOf(first))!), second.url);
    const redirect = (await page(site.db, first))!.body;
    assert.match(redirect, /<meta name="robots" content="noindex">/);
    assert.match(redirect, /<meta http-equiv="refresh" content="0; url=\/news\/ferry-winter-timetable">/);
    assert.match(redirect, /<link rel="canonical" href="http[^"]+\/news\/ferry-winter-timetable">/);
    assert.match(redirect, /<a href="\/news\/ferry-winter-timetable">/);
    assert.doesNotMatch(redirect, /New times from Monday/, 'the redirect does not copy the article');

    // The old slug leaves the listings, sitemaps and search; the new one is there.
    for (const path of ['/', '/sections/news', '/tags/transport', '/sitemaps/articles-0.xml', '/feeds/site.atom.xml']) {
      const body = (await page(site.db, path))?.body ?? '';
      assert.ok(!body.includes(first), `${path} no longer names ${first}`);
      assert.ok(body.includes(second.url), `${path} names ${second.url}`);
    }

    const doc = await site
      .db('search_docs')
      .where({ doc: docKey('article', created.id) })
      .first('entry');
    assert.ok(
      String(doc.entry).includes(second.url) && !String(doc.entry).includes(`${first}"`),
      'search has the new address',
    );

    // A -> B -> C: both older paths now redirect straight to C.
    const head2 = await journalHead(site.db);
    const third = await save(site, 'PUT', `/api/articles/${created.id}`, { slug: 'ferry-timetable-2027' });
    await settled(site.db);
    assert.equal(redirectTarget((await contentTypeOf(first))!), third.url);
    assert.equal(redirectTarget((await contentTypeOf(second.url))!), third.url);
    const paths = (await entriesAfter(site.db, head2)).map((e) => e.path);
    assert.ok(paths.includes(first) && paths.includes(second.url) && paths.includes(third.url));

    // A text edit changes no redirect page: the dependency model leaves them alone.
    const head3 = await journalHead(site.db);
    await save(site, 'PUT', `/api/articles/${created.id}`, { body: '<p>New times from Tuesday.</p>' });
    await settled(site.db);
    const edited = (await entriesAfter(site.db, head3)).map((e) => e.path);
    assert.ok(edited.includes(third.url));
    assert.ok(!edited.includes(first) && !edited.includes(second.url), `redirects untouched: ${edited.join(', ')}`);

    // A rebuild renders the same redirects (the sweep does not turn them into tombstones).
    await assertConsistent(site);
    assert.equal((await page(site.db, first))?.op, 'put');
  });

  it('reserves a former slug: another article may not take it, the item itself may take it back', async () => {
    const a = await save(site, 'POST', '/api/articles', {
      title: 'Library opening hours',
      body: '<p>x</p>',
      status: 'published',
    });
    await save(site, 'PUT', `/api/articles/${a.id}`, { slug: 'library-hours' });
    await settled(site.db);
    const res = await api(site, 'POST', '/api/articles', {
      title: 'x',
      slug: 'library-opening-hours',
      body: '<p>y</p>',
    });
    const json = (await res.json()) as ApiError;
    assert.equal(res.status, 409);
    assert.equal(json.error.field, 'slug');
    assert.match(json.error.message, /former slug of another article and still redirects to it/);
    // A title that would make that slug gets the next free one instead.
    const auto = await save(site, 'POST', '/api/articles', { title: 'Library opening hours', body: '<p>z</p>' });
    assert.equal(auto.slug, 'library-opening-hours-2');

    const back = await save(site, 'PUT', `/api/articles/${a.id}`, { slug: 'library-opening-hours' });
    await settled(site.db);
    assert.equal(back.url, '/news/library-opening-hours');
    assert.equal((await page(site.db, back.url))?.op, 'put');
    assert.equal(redirectTarget((await contentTypeOf(back.url))!), undefined, 'the page itself again');
    assert.equal(redirectTarget((await contentTypeOf('/news/library-hours'))!), back.url);
    assert.deepEqual(
      (await site.db('slug_redirects').where({ topic: 'article', item_id: a.id }).select('slug')).map((r) => r.slug),
      ['library-hours'],
    );
  });

  it('turns the redirects into tombstones while the item is hidden, and back when it is published again', async () => {
    const a = await save(site, 'POST', '/api/articles', {
      title: 'Dog show results',
      body: '<p>x</p>',
      status: 'published',
    });
    const moved = await save(site, 'PUT', `/api/articles/${a.id}`, { slug: 'dog-show-winners' });
    await settled(site.db);
    await save(site, 'PUT', `/api/articles/${a.id}`, { status: 'hidden' });
    await settled(site.db);
    assert.equal((await page(site.db, a.url))?.op, 'gone', 'a hidden item reveals no new address');
    assert.equal((await page(site.db, moved.url))?.op, 'gone');
    await save(site, 'PUT', `/api/articles/${a.id}`, { status: 'published' });
    await settled(site.db);
    assert.equal(redirectTarget((await contentTypeOf(a.url))!), moved.url);
    assert.equal((await page(site.db, moved.url))?.op, 'put');
  });

  it('records the slug change in the audit log and the item’s history', async () => {
    const a = await save(site, 'POST', '/api/articles', {
      title: 'Budget vote',
      body: '<p>x</p>',
      status: 'published',
    });
    await save(site, 'PUT', `/api/articles/${a.id}`, { slug: 'budget-vote-delayed' });
    const audit = await site.db('audit_log').where({ action: 'slug_changed', target: `article:${a.id}` });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor_name, 'editor1');
    assert.deepEqual(JSON.parse(String(audit[0].detail)), {
      title: 'Budget vote',
      from: 'budget-vote',
      to: 'budget-vote-delayed',
      redirected: true,
    });
    const history = (await (await api(site, 'GET', `/api/articles/${a.id}/revisions`)).json()) as {
      revisions: { snapshot: { slug?: string } }[];
    };
    assert.deepEqual(
      history.revisions.map((r) => r.snapshot.slug),
      ['budget-vote-delayed', 'budget-vote'],
      'each revision records the slug it had',
    );
    // A plain edit is not a slug change.
    await save(site, 'PUT', `/api/articles/${a.id}`, { slug: 'budget-vote-delayed', summary: 'Now in January.' });
    assert.equal((await site.db('audit_log').where({ action: 'slug_changed', target: `article:${a.id}` })).length, 1);
    await settled(site.db);
  });

  it('moves a published event the same way', async () => {
    const ev = await save(site, 'POST', '/api/events', {
      title: 'Winter market',
      body: '<p>Stalls</p>',
      startsAt: '2026-12-20T10:00:00Z',
      status: 'published',
    });
    const moved = await save(site, 'PUT', `/api/events/${ev.id}`, { slug: 'winter-market-2026' });
    await settled(site.db);
    assert.equal(moved.url, '/event/winter-market-2026');
    assert.equal(redirectTarget((await contentTypeOf(ev.url))!), moved.url);
    assert.match((await page(site.db, ev.url))!.body, /The event that was here now has a new address/);
  });
});
