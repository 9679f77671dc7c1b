// Public paths of the static site, shared by the app (which tells editors
// where an item will be) and the producer (which renders it there).
// Article and event pages live outside /articles* and /events* so that the
// cache tier's index-page TTL rules never catch them: they get
// age-proportional freshness. Every index, archive, feed and sitemap lives
// inside the index patterns (/, /articles*, /events*, /tags/*, /sections/*,
// /authors*, *.xml, /feeds/*).
export const HOME_PATH = '/';
export const NOT_FOUND_PATH = '/404.html';
export const SITEMAP_INDEX_PATH = '/sitemap.xml';
/** The places the site can be read (docs/trust.md, "The mirror list"): a page, and the signed list itself. */
export const MIRRORS_PATH = '/mirrors';
export const MIRRORS_JSON_PATH = '/mirrors.json';
/** Every section with articles; every tag with articles. */
export const SECTIONS_PATH = '/sections';
export const TAGS_PATH = '/tags';
/** Every author with published items (their pages are /authors/SLUG, common/site-paths.ts indexRootPath). */
export const AUTHORS_PATH = '/authors';
/** The sitemap of author pages: one file, listed by the sitemap index while any author page exists. */
export const AUTHORS_SITEMAP_PATH = '/sitemaps/authors.xml';
/** Site files from configuration (producer/site-files.ts): the favicon browsers ask for, the web app manifest. */
export const FAVICON_PATH = '/favicon.ico';
export const MANIFEST_PATH = '/manifest.webmanifest';
/** Google News sitemap: articles published in the last NEWS_WINDOW_MS, newest first. */
export const NEWS_SITEMAP_PATH = '/sitemaps/news.xml';
/** How long an article stays in the news sitemap (Google News takes the last two days). */
export const NEWS_WINDOW_MS = 48 * 3600_000;
/** At most this many URLs in the news sitemap (Google News' limit). */
export const NEWS_SITEMAP_MAX = 1000;
/** Static files named by their content hash: immutable, so caches keep them for a year. */
export const ASSETS_PREFIX = '/assets/';

export function stylesheetPath(hash: string): string {
  return `${ASSETS_PREFIX}site-${hash}.css`;
}

/** The reader search script (producer/templates/search.js), named by its content like the stylesheet. */
export function searchScriptPath(hash: string): string {
  return `${ASSETS_PREFIX}search-${hash}.js`;
}

/** The home-screen icon (SITE_ICON), named by its content like the stylesheet. */
export function iconPath(hash: string): string {
  return `${ASSETS_PREFIX}icon-${hash}.png`;
}

/** The header's logo (SITE_LOGO), named by its content; `ext` is png or svg. */
export function logoPath(hash: string, ext: string): string {
  return `${ASSETS_PREFIX}logo-${hash}.${ext}`;
}

export function articlePath(slug: string): string {
  return `/news/${slug}`;
}

/**
 * Live coverage (producer/live-pages.ts): the article's own page shows its
 * newest LIVE_PAGE_SIZE entries; older ones are on numbered pages of
 * LIVE_PAGE_SIZE entries each, numbered from the first entry like a month's
 * archive pages (`/news/SLUG/1` holds entries 1–20), so a new entry touches
 * only the page that holds it. The newest entries are also published as JSON
 * for open pages to poll from the mirror that served them.
 */
export const LIVE_PAGE_SIZE = 20;

export function livePagePath(slug: string, page: number): string {
  return `${articlePath(slug)}/${page}`;
}

/** The page of older entries holding entry number `seq`. */
export function livePageOf(seq: number): number {
  return Math.max(1, Math.ceil(seq / LIVE_PAGE_SIZE));
}

export function liveUpdatesPath(slug: string): string {
  return `${articlePath(slug)}/live.json`;
}

/** The script that shows new entries on an open live page, named by its content like the stylesheet. */
export function liveScriptPath(hash: string): string {
  return `${ASSETS_PREFIX}live-${hash}.js`;
}

export function eventPath(slug: string): string {
  return `/event/${slug}`;
}

/** A month as YYYY-MM (UTC); archives are per month so older pages never shift. */
export type Month = string;

export function monthOf(ms: number): Month {
  return new Date(ms).toISOString().slice(0, 7);
}

/**
 * Index keys name a listing: 'all' (every article), 'section:SLUG',
 * 'tag:SLUG', 'events' (the calendar), 'author:SLUG' (an author's
 * published articles and events, app/auth/people.ts).
 */
export type IndexKey = 'all' | 'events' | `section:${string}` | `tag:${string}` | `author:${string}`;

const ROOT_FOLDERS: Record<string, string> = { section: 'sections', tag: 'tags', author: 'authors' };

/** The root page of a listing (newest items, links to its month archives); an author's also shows their name and bio. */
export function indexRootPath(key: IndexKey): string {
  if (key === 'all') return '/articles';
  if (key === 'events') return '/events';
  const [kind, slug] = splitKey(key);
  return `/${ROOT_FOLDERS[kind]}/${slug}`;
}

export function authorPath(slug: string): string {
  return indexRootPath(`author:${slug}`);
}

/** Items per page of a month archive: a page's size, and so a save's cost, does not grow with a busy month. */
export const ARCHIVE_PAGE_SIZE = 50;

/**
 * One page of a month of a listing. Pages are numbered from the month's
 * oldest item (page 1 is `/articles/2026-11`, page 2 `/articles/2026-11/2`),
 * so a new item only touches the newest page and an edit only the page that
 * holds the item.
 */
export function indexMonthPath(key: IndexKey, month: Month, page = 1): string {
  return page <= 1 ? `${indexRootPath(key)}/${month}` : `${indexRootPath(key)}/${month}/${page}`;
}

/** RSS and Atom feeds exist for 'all' (the site), sections and tags. */
export function feedPaths(key: IndexKey): { rss: string; atom: string } {
  const base =
    key === 'all' ? '/feeds/site' : `/feeds/${key.startsWith('section:') ? 'sections' : 'tags'}/${splitKey(key)[1]}`;
  return { rss: `${base}.rss.xml`, atom: `${base}.atom.xml` };
}

/** Sitemap shards hold a fixed range of item ids, so a new item touches only the newest shard. */
export const SITEMAP_SHARD_SIZE = 1000;

export function sitemapShardOf(id: number): number {
  return Math.floor(id / SITEMAP_SHARD_SIZE);
}

export function sitemapShardPath(topic: 'article' | 'event', shard: number): string {
  return `/sitemaps/${topic}s-${shard}.xml`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(':');
  return [key.slice(0, i), key.slice(i + 1)];
}
