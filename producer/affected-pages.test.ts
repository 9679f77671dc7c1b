import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { affectedPages, ItemState, mergeRefs, PageRef, refId } from './affected-pages';

function article(overrides: Partial<ItemState> = {}): ItemState {
  return {
    topic: 'article',
    id: 1234,
    slug: 'flood-watch',
    visible: true,
    listing: 'v1',
    sortAt: Date.UTC(2026, 10, 20),
    memberships: [
      { key: 'all', bucket: '2026-11' },
      { key: 'section:news', bucket: '2026-11' },
      { key: 'tag:floods', bucket: '2026-11' },
      { key: 'sitemap:article', bucket: '1' },
    ],
    ...overrides,
  };
}

const ids = (refs: PageRef[]) => refs.map(refId).sort();

describe('dependency model', () => {
  it('a new published article touches its page, the current month and root of each listing, their feeds, home and its sitemap shard', () => {
    assert.deepEqual(ids(affectedPages(undefined, article())), [
      'bucket:all:2026-11',
      'bucket:section:news:2026-11',
      'bucket:tag:floods:2026-11',
      'feed:all:atom',
      'feed:all:rss',
      'feed:section:news:atom',
      'feed:section:news:rss',
      'feed:tag:floods:atom',
      'feed:tag:floods:rss',
      'home',
      'item:article:flood-watch',
      'not-found',
      'root:all',
      'root:section:news',
      'root:tag:floods',
      'search',
      'site-index:sections',
      'site-index:tags',
      'sitemap-index',
      'sitemap:article:1',
    ]);
  });

  it('an article ageing out of the news window re-renders the news sitemap and nothing else', () => {
    const fresh = article({ memberships: [...article().memberships, { key: 'news', bucket: '-' }] });
    assert.deepEqual(ids(affectedPages(fresh, article())), ['item:article:flood-watch', 'news-sitemap']);
    assert.ok(ids(affectedPages(undefined, fresh)).includes('news-sitemap'), 'a new article enters it');
  });

  it('puts the item page before every index that links to it', () => {
    const refs = affectedPages(undefined, article());
    assert.equal(refs[0].kind, 'item');
  });

  it('a body-only edit re-renders the item page, nothing else', () => {
    assert.deepEqual(ids(affectedPages(article(), article())), ['item:article:flood-watch']);
  });

  it('a title change re-renders every listing the item is in but not the sitemap index', () => {
    const refs = ids(affectedPages(article(), article({ listing: 'v2' })));
    assert.ok(refs.includes('bucket:tag:floods:2026-11'));
    assert.ok(refs.includes('home'));
    assert.ok(!refs.includes('sitemap-index'));
  });

  it("leaving a tag touches that tag's pages (the item disappears from them) and not the other listings", () => {
    const before = article();
    const after = article({ memberships: before.memberships.filter((m) => m.key !== 'tag:floods') });
    assert.deepEqual(ids(affectedPages(before, after)), [
      'bucket:tag:floods:2026-11',
      'feed:tag:floods:atom',
      'feed:tag:floods:rss',
      'item:article:flood-watch',
      'root:tag:floods',
      'site-index:tags',
    ]);
  });

  it('a title edit leaves the section and tag indexes alone: only entering or leaving a listing can change them', () => {
    const refs = ids(affectedPages(article(), article({ listing: 'v2' })));
    assert.ok(!refs.some((r) => r.startsWith('site-index:') || r === 'not-found'));
  });

  it('moving to another section touches both sections', () => {
    const before = article();
    const after = article({
      memberships: before.memberships.map((m) => (m.key === 'section:news' ? { ...m, key: 'section:culture' } : m)),
    });
    const refs = ids(affectedPages(before, after));
    assert.ok(refs.includes('root:section:news') && refs.includes('bucket:section:news:2026-11'));
    assert.ok(refs.includes('root:section:culture') && refs.includes('bucket:section:culture:2026-11'));
    assert.ok(!refs.includes('root:tag:floods'));
  });

  it('hiding a published item makes its page a tombstone and removes it from every listing it was in', () => {
    const refs = affectedPages(article(), article({ visible: false }));
    const item = refs.find((r) => r.kind === 'item');
    assert.deepEqual(item, { kind: 'item', topic: 'article', id: 1234, slug: 'flood-watch', visible: false });
    assert.deepEqual(ids(refs), ids(affectedPages(undefined, article())));
  });

  it('editing a draft that was never public renders nothing but the (absent) tombstone check', () => {
    const draft = article({ visible: false });
    assert.deepEqual(affectedPages(draft, draft), []);
    assert.deepEqual(ids(affectedPages(undefined, draft)), ['item:article:flood-watch']);
  });

  describe('former slugs (app/content/slug-redirects.ts)', () => {
    const redirects = (refs: PageRef[]) =>
      refs
        .filter((r): r is PageRef & { kind: 'redirect' } => r.kind === 'redirect')
        .map((r) => [r.slug, r.to, r.visible]);

    it('a published item moving to a new slug renders its new page, a redirect at the old one, and its listings', () => {
      const refs = affectedPages(article(), article({ slug: 'flood-warning', formerSlugs: ['flood-watch'] }));
      assert.deepEqual(redirects(refs), [['flood-watch', 'flood-warning', true]]);
      assert.ok(!refs.some((r) => r.kind === 'item' && r.slug === 'flood-watch'), 'no tombstone at the old path');
      const all = ids(refs);
      assert.ok(all.includes('item:article:flood-warning'));
      for (const listing of ['bucket:all:2026-11', 'bucket:section:news:2026-11', 'sitemap:article:1', 'feed:all:atom'])
        assert.ok(all.includes(listing), listing);
      assert.ok(!all.includes('sitemap-index'), 'the shard set does not change');
    });

    it('a second move re-points every older redirect at the current slug', () => {
      const before = article({ slug: 'flood-warning', formerSlugs: ['flood-watch'] });
      const after = article({ slug: 'flood-warning-lifted', formerSlugs: ['flood-warning', 'flood-watch'] });
      assert.deepEqual(redirects(affectedPages(before, after)).sort(), [
        ['flood-warning', 'flood-warning-lifted', true],
        ['flood-watch', 'flood-warning-lifted', true],
      ]);
    });

    it('an edit that keeps the slug leaves the redirects alone', () => {
      const state = article({ slug: 'flood-warning', formerSlugs: ['flood-watch'] });
      assert.deepEqual(ids(affectedPages(state, { ...state })), ['item:article:flood-warning']);
    });

    it('hiding and publishing again turns the redirects into tombstones and back', () => {
      const shown = article({ slug: 'flood-warning', formerSlugs: ['flood-watch'] });
      const hidden = { ...shown, visible: false };
      assert.deepEqual(redirects(affectedPages(shown, hidden)), [['flood-watch', 'flood-warning', false]]);
      assert.deepEqual(redirects(affectedPages(hidden, shown)), [['flood-watch', 'flood-warning', true]]);
    });

    it('a live article moving leaves tombstones for its numbered pages and JSON at the old slug, and renders them at the new one', () => {
      const live = { latest: 'l1', pages: ['p1'] };
      const refs = affectedPages(
        article({ live }),
        article({ slug: 'flood-warning', formerSlugs: ['flood-watch'], live }),
      ).filter((r) => r.kind === 'live-page' || r.kind === 'live-updates');
      assert.deepEqual(refs.map((r) => [refId(r), r.visible]).sort(), [
        ['live-updates:flood-warning', true],
        ['live-updates:flood-watch', false],
        ['live:flood-warning:1', true],
        ['live:flood-watch:1', false],
      ]);
    });

    it('taking a former slug back renders the page there and a redirect at the slug it leaves', () => {
      const before = article({ slug: 'flood-warning', formerSlugs: ['flood-watch'] });
      const after = article({ slug: 'flood-watch', formerSlugs: ['flood-warning'] });
      const refs = affectedPages(before, after);
      assert.deepEqual(redirects(refs), [['flood-warning', 'flood-watch', true]]);
      assert.ok(refs.some((r) => r.kind === 'item' && r.slug === 'flood-watch' && r.visible));
    });
  });

  it('featuring an item touches only the home page', () => {
    const before = article();
    const after = article({ memberships: [...before.memberships, { key: 'featured', bucket: '-' }] });
    assert.deepEqual(ids(affectedPages(before, after)), ['home', 'item:article:flood-watch']);
  });

  it('an event moved to another month touches both months of the calendar and its root, with no feeds', () => {
    const event = (month: string): ItemState => ({
      topic: 'event',
      id: 7,
      slug: 'open-day',
      visible: true,
      listing: month,
      sortAt: Date.parse(`${month}-15T18:00:00Z`),
      memberships: [
        { key: 'events', bucket: month },
        { key: 'sitemap:event', bucket: '0' },
      ],
    });
    assert.deepEqual(ids(affectedPages(event('2026-11'), event('2027-01'))), [
      'bucket:events:2026-11',
      'bucket:events:2027-01',
      'item:event:open-day',
      'root:events',
      'sitemap:event:0',
    ]);
  });

  it('a title edit re-renders only the archive page holding the item; a new item shifts the pages from its position on', () => {
    const edited = affectedPages(article(), article({ listing: 'v2' })).find((r) => refId(r) === 'bucket:all:2026-11');
    assert.deepEqual(edited, {
      kind: 'index-bucket',
      key: 'all',
      bucket: '2026-11',
      at: { sortAt: Date.UTC(2026, 10, 20), topic: 'article', id: 1234 },
      tail: false,
    });
    const added = affectedPages(undefined, article()).find((r) => refId(r) === 'bucket:all:2026-11');
    assert.deepEqual(added, {
      kind: 'index-bucket',
      key: 'all',
      bucket: '2026-11',
      at: { sortAt: Date.UTC(2026, 10, 20), topic: 'article', id: 1234 },
      tail: true,
    });
  });

  it('an item leaving a month shifts the pages from where it was', () => {
    const before = article();
    const removed = affectedPages(before, article({ visible: false })).find(
      (r) => refId(r) === 'bucket:section:news:2026-11',
    );
    assert.deepEqual(removed, {
      kind: 'index-bucket',
      key: 'section:news',
      bucket: '2026-11',
      at: { sortAt: before.sortAt, topic: 'article', id: 1234 },
      tail: true,
    });
  });

  it('a date change within the month re-renders the pages from the earlier of the two positions', () => {
    const earlier = Date.UTC(2026, 10, 3);
    const refs = affectedPages(article(), article({ listing: 'v2', sortAt: earlier })).filter(
      (r) => r.kind === 'index-bucket',
    );
    assert.equal(refs.length, 3, 'one ref per month of each listing');
    for (const r of refs) assert.deepEqual(r.kind === 'index-bucket' && [r.at?.sortAt, r.tail], [earlier, true]);
  });

  it('the number of pages a save touches does not depend on how many other items exist', () => {
    // The model only sees the item itself: a site of any size gives the same set.
    const refs = affectedPages(
      undefined,
      article({
        id: 99_999_123,
        memberships: [
          { key: 'all', bucket: '2030-01' },
          { key: 'sitemap:article', bucket: '99999' },
        ],
      }),
    );
    assert.equal(refs.length, 8);
  });
});

describe('coalesced groups (mergeRefs)', () => {
  const newArticle = (id: number, sortAt: number, tag: string) =>
    affectedPages(
      undefined,
      article({
        id,
        slug: `story-${id}`,
        sortAt,
        memberships: [
          { key: 'all', bucket: '2026-11' },
          { key: `tag:${tag}`, bucket: '2026-11' },
          { key: 'sitemap:article', bucket: '1' },
        ],
      }),
    );

  it('renders each shared page once for a burst of new articles', () => {
    const merged = mergeRefs([1, 2, 3].map((n) => newArticle(1000 + n, Date.UTC(2026, 10, n), n === 3 ? 'b' : 'a')));
    const counts = new Map<string, number>();
    for (const id of merged.map(refId)) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.ok([...counts.values()].every((n) => n === 1));
    assert.deepEqual(ids(merged), [
      'bucket:all:2026-11',
      'bucket:tag:a:2026-11',
      'bucket:tag:b:2026-11',
      'feed:all:atom',
      'feed:all:rss',
      'feed:tag:a:atom',
      'feed:tag:a:rss',
      'feed:tag:b:atom',
      'feed:tag:b:rss',
      'home',
      'item:article:story-1001',
      'item:article:story-1002',
      'item:article:story-1003',
      'root:all',
      'root:tag:a',
      'root:tag:b',
      'site-index:tags',
      'sitemap-index',
      'sitemap:article:1',
    ]);
  });

  it('a month reached by several changes is rendered from the earliest position any of them touches, to its end', () => {
    const edit = (id: number, day: number) =>
      affectedPages(
        article({ id, sortAt: Date.UTC(2026, 10, day) }),
        article({ id, sortAt: Date.UTC(2026, 10, day), listing: 'v2' }),
      );
    const month = mergeRefs([edit(1, 20), edit(2, 3)]).find((r) => refId(r) === 'bucket:all:2026-11');
    assert.ok(month?.kind === 'index-bucket');
    assert.equal(month.at?.sortAt, Date.UTC(2026, 10, 3));
    assert.equal(month.tail, true, 'both edited pages and the ones between');
    const one = mergeRefs([edit(1, 20), edit(1, 20)]).find((r) => refId(r) === 'bucket:all:2026-11');
    assert.ok(one?.kind === 'index-bucket');
    assert.equal(one.tail, false, 'the same page twice is still one page');
  });

  describe('live coverage', () => {
    const live = (overrides: Partial<ItemState> = {}) =>
      article({ updatedAt: 1000, live: { latest: 'a', pages: [] }, ...overrides });

    it('a new entry re-renders the article page, its JSON and the feeds that show it as updated, nothing else', () => {
      assert.deepEqual(ids(affectedPages(live(), live({ updatedAt: 2000, live: { latest: 'b', pages: [] } }))), [
        'feed:all:atom',
        'feed:all:rss',
        'feed:section:news:atom',
        'feed:section:news:rss',
        'feed:tag:floods:atom',
        'feed:tag:floods:rss',
        'item:article:flood-watch',
        'live-updates:flood-watch',
      ]);
    });

    it('an entry on a long event re-renders the one numbered page that holds it', () => {
      const before = live({ live: { latest: 'a', pages: ['p1', 'p2'] } });
      const after = live({ updatedAt: 2000, live: { latest: 'a', pages: ['p1', 'p2-edited'] } });
      const refs = ids(affectedPages(before, after));
      assert.ok(refs.includes('live:flood-watch:2'));
      assert.ok(!refs.includes('live:flood-watch:1'), 'page 1 is unchanged');
      assert.ok(!refs.includes('live-updates:flood-watch'), 'the newest entries are unchanged');
    });

    it('hiding a live article tombstones its JSON and every numbered page', () => {
      const before = live({ live: { latest: 'a', pages: ['p1', 'p2'] } });
      const refs = affectedPages(before, { ...before, visible: false });
      for (const id of ['live-updates:flood-watch', 'live:flood-watch:1', 'live:flood-watch:2']) {
        const ref = refs.find((r) => refId(r) === id);
        assert.ok(ref && 'visible' in ref && ref.visible === false, `${id} becomes a tombstone`);
      }
    });

    it('a page emptied of entries becomes a tombstone, and one more page appears when the entries outgrow the page', () => {
      const grown = affectedPages(live(), live({ live: { latest: 'b', pages: ['p1', 'p2'] } }));
      assert.deepEqual(
        grown.filter((r) => r.kind === 'live-page').map((r) => [refId(r), (r as { visible: boolean }).visible]),
        [
          ['live:flood-watch:1', true],
          ['live:flood-watch:2', true],
        ],
      );
      const shrunk = affectedPages(live({ live: { latest: 'b', pages: ['p1', 'p2'] } }), live());
      assert.deepEqual(
        shrunk.filter((r) => r.kind === 'live-page').map((r) => (r as { visible: boolean }).visible),
        [false, false],
      );
    });

    it('turning live coverage on changes the listing card (its Live mark) and publishes the JSON', () => {
      const refs = ids(affectedPages(article(), live({ listing: 'v2' })));
      assert.ok(refs.includes('live-updates:flood-watch'));
      assert.ok(refs.includes('bucket:all:2026-11'));
    });
  });
});

describe('dependency model: authors', () => {
  const ana = { slug: 'ana', name: 'Ana Lima', bio: 'Harbour desk.' };
  const bo = { slug: 'bo', name: 'Bo Chen', bio: '' };
  const cy = { slug: 'cy', name: 'Cy Diaz', bio: '' };
  /** An article signed by `authors`: the byline is on its card (listing), each author's page lists it. */
  const signed = (authors: (typeof ana)[], listing = authors.map((p) => p.name).join()) =>
    article({
      listing,
      authors,
      memberships: [...article().memberships, ...authors.map((p) => ({ key: `author:${p.slug}`, bucket: '2026-11' }))],
    });
  const listings = [
    'bucket:all:2026-11',
    'bucket:section:news:2026-11',
    'bucket:tag:floods:2026-11',
    'feed:all:atom',
    'feed:all:rss',
    'feed:section:news:atom',
    'feed:section:news:rss',
    'feed:tag:floods:atom',
    'feed:tag:floods:rss',
    'home',
    'root:all',
    'root:section:news',
    'root:tag:floods',
    'sitemap:article:1',
  ];

  it('a change of authors re-renders the item, the pages of the old and new authors and the listings showing its byline', () => {
    assert.deepEqual(
      ids(affectedPages(signed([ana, bo]), signed([ana, cy]))),
      [
        ...listings,
        'authors-sitemap',
        'bucket:author:ana:2026-11',
        'bucket:author:bo:2026-11',
        'bucket:author:cy:2026-11',
        'item:article:flood-watch',
        'root:author:ana',
        'root:author:bo',
        'root:author:cy',
        'site-index:authors',
        'sitemap-index',
      ].sort(),
    );
  });

  it('the same authors in another order re-render the byline and the authors’ pages that show it, and no author index', () => {
    const refs = ids(affectedPages(signed([ana, bo]), signed([bo, ana])));
    assert.deepEqual(
      refs,
      [
        ...listings,
        'bucket:author:ana:2026-11',
        'bucket:author:bo:2026-11',
        'item:article:flood-watch',
        'root:author:ana',
        'root:author:bo',
      ].sort(),
    );
  });

  it('a display name change re-renders the bylines (item, listings, author pages) and /authors', () => {
    const renamed = { ...ana, name: 'Ana L. Lima' };
    assert.deepEqual(
      ids(affectedPages(signed([ana, bo]), signed([renamed, bo]))),
      [
        ...listings,
        'bucket:author:ana:2026-11',
        'bucket:author:bo:2026-11',
        'item:article:flood-watch',
        'root:author:ana',
        'root:author:bo',
        'site-index:authors',
      ].sort(),
    );
  });

  it('a bio change re-renders the item and that author’s page alone: no card shows a bio', () => {
    const before = signed([ana, bo], 'card');
    const after = signed([{ ...ana, bio: 'Now on the courts beat.' }, bo], 'card');
    assert.deepEqual(ids(affectedPages(before, after)), ['item:article:flood-watch', 'root:author:ana']);
  });

  it('an unchanged save of a signed article touches no author page', () => {
    assert.deepEqual(ids(affectedPages(signed([ana]), signed([ana]))), ['item:article:flood-watch']);
  });

  it('hiding a signed article takes it off its authors’ pages', () => {
    const hidden = { ...signed([ana]), visible: false };
    const refs = ids(affectedPages(signed([ana]), hidden));
    for (const id of ['bucket:author:ana:2026-11', 'root:author:ana', 'site-index:authors', 'authors-sitemap'])
      assert.ok(refs.includes(id), id);
  });
});
