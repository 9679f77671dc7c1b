// The dependency model: from what an item was when last rendered ("before")
// and what it is now ("after") to the exact set of public pages to
// regenerate. Pure: plain data in, page references out (docs/contributing.md, "Code shape").
//
// Listings are bucketed (months for articles and events, fixed id ranges
// for sitemap shards), so a change touches only the buckets the item was or
// is in, plus the listing's root page: the cost of a save does not depend on
// the size of the site. A month is split into pages of ARCHIVE_PAGE_SIZE
// items numbered from its oldest item: an edit re-renders the one page that
// holds the item, and only an item entering, leaving or moving within a
// month shifts the pages after its position (for a new item: the newest).
// Rendering compares hashes, so a page listed here whose bytes do not change
// costs no journal entry.
import type { IndexKey } from '../common/site-paths';

export type Topic = 'article' | 'event';

/** A listing the item appears in: 'all', 'section:x', 'tag:y', 'events', 'featured', 'sitemap:article'… and its bucket. */
export interface Membership {
  key: string;
  bucket: string;
}

export interface ItemState {
  topic: Topic;
  id: number;
  slug: string;
  /** Published (and not hidden): has a public page and appears in listings. */
  visible: boolean;
  /** Everything a listing shows of the item (title, summary, date, section…): a change re-renders its listings. */
  listing: string;
  /** Listings the item belongs to while visible. */
  memberships: Membership[];
  /** Listing order within a month (published_at for articles, starts_at for events). */
  sortAt: number;
  /** When a live article's entries last changed: shown only by its feeds (as `updated`), so a change re-renders them alone. */
  updatedAt?: number | null;
  /** A live article's own pages beyond its page (producer/live-pages.ts). */
  live?: LiveState;
  /** Slugs the item left once public (app/content/slug-redirects.ts): each old path redirects to `slug`. */
  formerSlugs?: string[];
  /**
   * Its authors as their pages show them (name and bio): a change re-renders
   * those pages' roots. Their bylines are on the card (`listing`), and their
   * listings are memberships ('author:SLUG'). Absent in states stored before people.
   */
  authors?: AuthorState[];
}

export interface AuthorState {
  slug: string;
  name: string;
  bio: string;
}

/**
 * Fingerprints of what a live article's pages show: `latest`, its newest
 * entries (its page and the JSON open pages poll); `pages[n - 1]`, the
 * numbered page n of older entries (none while every entry fits its page).
 */
export interface LiveState {
  latest: string;
  pages: string[];
}

/** Where an item sits (or sat) in a month: listing order is (sortAt, topic, id). */
export interface Position {
  sortAt: number;
  topic: Topic;
  id: number;
}

export type PageRef =
  | { kind: 'item'; topic: Topic; id: number; slug: string; visible: boolean }
  | { kind: 'home' }
  | { kind: 'index-root'; key: IndexKey }
  /**
   * Pages of one month of a listing. `at`: the page holding that position;
   * with `tail`, also every later page (items shifted by one), and the page
   * before when the position starts a page (its link to the next appears or
   * goes). No `at`: every page of the month (the full rebuild).
   */
  | { kind: 'index-bucket'; key: IndexKey; bucket: string; at?: Position; tail: boolean }
  | { kind: 'feed'; key: IndexKey; format: 'rss' | 'atom' }
  | { kind: 'sitemap-shard'; topic: Topic; shard: number }
  | { kind: 'sitemap-index' }
  /** /sections, /tags or /authors: the sections, tags or authors that have published items. */
  | { kind: 'site-index'; which: 'sections' | 'tags' | 'authors' }
  /** /sitemaps/authors.xml: every author page. */
  | { kind: 'authors-sitemap' }
  /** /404.html: it shows the header's sections (producer/site-chrome.ts). */
  | { kind: 'not-found' }
  /** /sitemaps/news.xml: articles of the last NEWS_WINDOW_MS. */
  | { kind: 'news-sitemap' }
  /** Page `page` of a live article's older entries, or its 410 tombstone; the item owns it like its page. */
  | { kind: 'live-page'; id: number; slug: string; page: number; visible: boolean }
  /**
   * The page at a former slug of the item: a redirect to its page at `to`
   * while the item is visible, its 410 tombstone while it is not (where a page was public).
   */
  | { kind: 'redirect'; topic: Topic; id: number; slug: string; to: string; visible: boolean }
  /** A live article's newest entries as JSON (what open pages poll), or its tombstone. */
  | { kind: 'live-updates'; id: number; slug: string; visible: boolean }

  /** /search: the search form; it depends on the templates alone (producer/search-index.ts keeps the index). */
  | { kind: 'search' };

const FEED_KEYS = /^(all|section:.+|tag:.+)$/;

export function refId(ref: PageRef): string {
  switch (ref.kind) {
    case 'item':
    case 'redirect':
      // One path, one page: a redirect at a slug replaces the tombstone the item's move would leave there.
      return `item:${ref.topic}:${ref.slug}`;
    case 'home':
    case 'sitemap-index':
    case 'not-found':
    case 'news-sitemap':
    case 'authors-sitemap':
    case 'search':
      return ref.kind;
    case 'site-index':
      return `site-index:${ref.which}`;
    case 'index-root':
      return `root:${ref.key}`;
    case 'index-bucket':
      return `bucket:${ref.key}:${ref.bucket}`;
    case 'feed':
      return `feed:${ref.key}:${ref.format}`;
    case 'sitemap-shard':
      return `sitemap:${ref.topic}:${ref.shard}`;
    case 'live-page':
      return `live:${ref.slug}:${ref.page}`;
    case 'live-updates':
      return `live-updates:${ref.slug}`;
  }
}

function membershipId(m: Membership): string {
  return `${m.key}\u0000${m.bucket}`;
}

/**
 * Pages affected by an item going from `before` (undefined: never rendered)
 * to `after`. Item pages come first, then the indexes that link to them.
 */
export function affectedPages(before: ItemState | undefined, after: ItemState): PageRef[] {
  const refs = new Map<string, PageRef>();
  const add = (ref: PageRef) => addRef(refs, ref);
  const position = (s: ItemState): Position => ({ sortAt: s.sortAt, topic: s.topic, id: s.id });

  // The item's own page: rendered while visible; a 410 tombstone once it is
  // not (the renderer only writes one where a page was ever public). With
  // no record of the past (before undefined) a tombstone is checked too.
  if (after.visible) add({ kind: 'item', topic: after.topic, id: after.id, slug: after.slug, visible: true });
  else if (!before || before.visible)
    add({ kind: 'item', topic: after.topic, id: after.id, slug: after.slug, visible: false });
  if (before && before.slug !== after.slug && before.visible) {
    add({ kind: 'item', topic: before.topic, id: before.id, slug: before.slug, visible: false });
  }

  redirectRefs(before, after, add);
  liveRefs(before, after, add);

  const was = new Map((before?.visible ? before.memberships : []).map((m) => [membershipId(m), m]));
  const is = new Map((after.visible ? after.memberships : []).map((m) => [membershipId(m), m]));
  const listingChanged = !before || before.listing !== after.listing || before.slug !== after.slug;

  for (const [id, m] of new Map([...was, ...is])) {
    const entered = is.has(id) && !was.has(id);
    const left = was.has(id) && !is.has(id);
    const moved = entered || left;
    if (!moved && !listingChanged) {
      // A live article's new entry: it appears in its feeds as an update (Atom <updated>), nowhere else.
      if ((before!.updatedAt ?? null) !== (after.updatedAt ?? null) && FEED_KEYS.test(m.key)) {
        add({ kind: 'feed', key: m.key as IndexKey, format: 'rss' });
        add({ kind: 'feed', key: m.key as IndexKey, format: 'atom' });
      }
      continue;
    }
    if (m.key.startsWith('sitemap:')) {
      // Shards show each item's URL and publication date (lastmod), like any other listing.
      add({ kind: 'sitemap-shard', topic: m.key.slice('sitemap:'.length) as Topic, shard: Number(m.bucket) });
      if (moved) add({ kind: 'sitemap-index' });
      continue;
    }
    if (m.key === 'news') {
      add({ kind: 'news-sitemap' });
      continue;
    }
    if (m.key === 'featured') {
      add({ kind: 'home' });
      continue;
    }
    const key = m.key as IndexKey;
    if (moved && key.startsWith('section:')) {
      // A section may have gained its first article or lost its last: the pages listing
      // sections (and the header's links, producer/site-chrome.ts) follow. Unchanged bytes journal nothing.
      add({ kind: 'site-index', which: 'sections' });
      add({ kind: 'home' });
      add({ kind: 'not-found' });
      add({ kind: 'search' });
    }
    if (moved && key.startsWith('tag:')) add({ kind: 'site-index', which: 'tags' });
    if (moved && key.startsWith('author:')) {
      // An author page may have appeared or gone: /authors and the sitemap that lists them follow.
      add({ kind: 'site-index', which: 'authors' });
      add({ kind: 'authors-sitemap' });
      add({ kind: 'sitemap-index' });
    }
    if (entered) add({ kind: 'index-bucket', key, bucket: m.bucket, at: position(after), tail: true });
    else if (left) add({ kind: 'index-bucket', key, bucket: m.bucket, at: position(before!), tail: true });
    else if (before!.sortAt !== after.sortAt) {
      // Moved within the month: the items between the two positions shift.
      add({ kind: 'index-bucket', key, bucket: m.bucket, at: position(before!), tail: true });
      add({ kind: 'index-bucket', key, bucket: m.bucket, at: position(after), tail: true });
    } else add({ kind: 'index-bucket', key, bucket: m.bucket, at: position(after), tail: false });
    add({ kind: 'index-root', key });
    if (FEED_KEYS.test(key)) {
      add({ kind: 'feed', key, format: 'rss' });
      add({ kind: 'feed', key, format: 'atom' });
    }
    if (key === 'all') add({ kind: 'home' });
  }
  authorRefs(before, after, add);
  return [...refs.values()];
}

/**
 * An author's page shows their name and bio above the listing, and /authors
 * their name: a change of either (a profile edit owes a render of each item
 * the author signs, app/auth/people.ts) re-renders those two pages. The
 * bylines themselves are on the item's card (`listing`) and page.
 */
function authorRefs(before: ItemState | undefined, after: ItemState, add: (ref: PageRef) => void): void {
  if (!after.visible) return;
  const was = new Map((before?.visible ? (before.authors ?? []) : []).map((p) => [p.slug, p]));
  for (const p of after.authors ?? []) {
    const old = was.get(p.slug);
    if (!old || (old.name === p.name && old.bio === p.bio)) continue;
    add({ kind: 'index-root', key: `author:${p.slug}` });
    if (old.name !== p.name) add({ kind: 'site-index', which: 'authors' });
  }
}

/**
 * The pages at the item's former slugs: each names the current slug (a
 * chain of renames ends on the live page) and follows the item's
 * visibility, so all of them change when the slug or the visibility does,
 * and a slug that just became former gets its first one. Nothing else
 * changes them: an edit of the text leaves them alone.
 */
function redirectRefs(before: ItemState | undefined, after: ItemState, add: (ref: PageRef) => void): void {
  const was = new Set(before?.formerSlugs ?? []);
  const moved = !before || before.slug !== after.slug || before.visible !== after.visible;
  for (const slug of after.formerSlugs ?? [])
    if (moved || !was.has(slug))
      add({ kind: 'redirect', topic: after.topic, id: after.id, slug, to: after.slug, visible: after.visible });
}

/**
 * A live article's own pages: the JSON of its newest entries when they
 * changed, each numbered page of older entries whose entries changed, and
 * tombstones for those it no longer has (the article hidden, no longer
 * live, or the page emptied). A renamed article's pages at its old slug
 * become tombstones (its page there redirects) and all of them are rendered
 * at the new one.
 */
function liveRefs(before: ItemState | undefined, after: ItemState, add: (ref: PageRef) => void): void {
  if (before && before.slug !== after.slug) {
    if (before.visible && before.live) liveRefs(before, { ...before, visible: false }, add);
    liveRefs(undefined, after, add);
    return;
  }
  const was = before?.visible ? before.live : undefined;
  const is = after.visible ? after.live : undefined;
  const { id, slug } = after;
  if (is && is.latest !== was?.latest) add({ kind: 'live-updates', id, slug, visible: true });
  else if (was && !is) add({ kind: 'live-updates', id, slug, visible: false });
  const pages = Math.max(was?.pages.length ?? 0, is?.pages.length ?? 0);
  for (let n = 1; n <= pages; n++) {
    const now = is?.pages[n - 1];
    if (now !== undefined && now !== was?.pages[n - 1]) add({ kind: 'live-page', id, slug, page: n, visible: true });
    else if (now === undefined) add({ kind: 'live-page', id, slug, page: n, visible: false });
  }
}

/** Adds `ref` to `refs`, merging one month reached twice into the pages from the earlier position on. */
function addRef(refs: Map<string, PageRef>, ref: PageRef): void {
  const id = refId(ref);
  const seen = refs.get(id);
  if (ref.kind === 'index-bucket' && seen?.kind === 'index-bucket') {
    const at = seen.at && ref.at ? (comparePositions(ref.at, seen.at) < 0 ? ref.at : seen.at) : undefined;
    refs.set(id, { ...seen, at, tail: seen.tail || ref.tail || !sameTarget(seen, ref) });
    return;
  }
  refs.set(id, ref);
}

/** Listing order: (sortAt, topic, id). */
function comparePositions(a: Position, b: Position): number {
  return a.sortAt - b.sortAt || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) || a.id - b.id;
}

/** Whether two references to one month name the same single page. */
function sameTarget(a: PageRef & { kind: 'index-bucket' }, b: PageRef & { kind: 'index-bucket' }): boolean {
  return a.at !== undefined && b.at !== undefined && comparePositions(a.at, b.at) === 0;
}

/**
 * The pages of several changes rendered together (a coalesced group): each
 * page once; a month reached by several changes is rendered from the
 * earliest position any of them touches to its end, so it covers every page
 * each change alone would have rendered.
 */
export function mergeRefs(lists: PageRef[][]): PageRef[] {
  const refs = new Map<string, PageRef>();
  for (const list of lists) for (const ref of list) addRef(refs, ref);
  return [...refs.values()];
}
