// Turns a page reference from the dependency model into rendered bytes,
// reading what the page shows from the database handle it is given (the
// render job's transaction, so every page of a batch sees one snapshot).
import {
  ARCHIVE_PAGE_SIZE,
  articlePath,
  AUTHORS_PATH,
  AUTHORS_SITEMAP_PATH,
  eventPath,
  feedPaths,
  HOME_PATH,
  IndexKey,
  indexMonthPath,
  indexRootPath,
  monthOf,
  NEWS_SITEMAP_MAX,
  NEWS_SITEMAP_PATH,
  NEWS_WINDOW_MS,
  NOT_FOUND_PATH,
  SECTIONS_PATH,
  SITEMAP_INDEX_PATH,
  TAGS_PATH,
  sitemapShardPath,
} from '../common/site-paths';
import { SEARCH_PATH } from '../common/search-index-format';
import type { PageRef, Position, Topic } from './affected-pages';
import type { RenderedPage } from './change-journal';
import { ArticleCard, EventCard, parseState, StoredState } from './item-state';
import { articleView, eventView, Renderer } from './renderer';
import { MonthsAhead, page, PageContext, view, withChrome, xmlPage } from './page-view';
import { listingsWithArticles, sectionsNav } from './site-chrome';
import { articleJsonLd, articleMeta, eventJsonLd, eventMeta, listingMeta, liveBlogJsonLd } from './structured-data';
import { liveView, renderLiveRef } from './live-pages';
import { renderRedirect } from './redirect-pages';

export type { MonthsAhead, PageContext } from './page-view';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './item-rows';
import {
  articleOfCard,
  bucketSize,
  bucketsOf,
  eventOfCard,
  ListedCard,
  listArticles,
  listBucket,
  listBuckets,
  listEvents,
  latestCards,
  listingName,
  authorOf,
  rankInBucket,
  newsEntries,
  sitemapEntries,
} from './site-queries';

export const HTML = 'text/html; charset=utf-8';
const RSS = 'application/rss+xml; charset=utf-8';
const ATOM = 'application/atom+xml; charset=utf-8';
const XML = 'application/xml; charset=utf-8';
export const LATEST = 20;
const FEATURED = 3;
const FEED_ITEMS = 20;

/** One read each for the sizes and the public archive pages of many months, instead of two per month. */
export async function monthsAhead(
  db: PageContext['db'],
  months: { key: IndexKey; bucket: string }[],
): Promise<MonthsAhead> {
  const sizes = new Map<string, number>();
  const live = new Set<string>();
  if (months.length === 0) return { sizes, live, cards: new Map() };
  const rows = await db('index_buckets')
    .where((q) => {
      for (const m of months) q.orWhere((q2) => q2.where({ index_key: m.key, bucket: m.bucket }));
    })
    .select('index_key', 'bucket', 'items');
  for (const r of rows) sizes.set(`${r.index_key}\u0000${r.bucket}`, Number(r.items));
  const pages = await db('pages')
    .where('op', 'put')
    .where((q) => {
      for (const m of months)
        q.orWhere('path', indexMonthPath(m.key, m.bucket)).orWhere(
          'path',
          'like',
          `${indexMonthPath(m.key, m.bucket)}/%`,
        );
    })
    .select('path');
  for (const r of pages) live.add(String(r.path));
  return { sizes, live, cards: await listBuckets(db, months) };
}

/** An item's public page (put), or its 410 tombstone where a page was ever public. */
export async function renderItem(
  ctx: PageContext,
  topic: Topic,
  item: ArticleRow | EventRow | undefined,
  slug: string,
  visible: boolean,
): Promise<RenderedPage | undefined> {
  const path = topic === 'article' ? articlePath(slug) : eventPath(slug);
  await withChrome(ctx);
  if (visible && item) return page(path, 'article', itemPageHtml(ctx, topic, item), HTML, item.updatedAt);
  const live = await ctx.db('pages').where({ path }).first('op');
  if (!live || live.op !== 'put') return undefined;
  return { ...page(path, 'article', view(ctx, 'gone.njk', { what: topic }), HTML, ctx.now), op: 'gone' };
}

/**
 * An item's page as HTML (withChrome first). `extra` is only ever the
 * preview's banner (producer/preview-page.ts): the page itself is the one
 * the producer journals.
 */
export function itemPageHtml(
  ctx: PageContext,
  topic: Topic,
  item: ArticleRow | EventRow,
  extra: Record<string, unknown> = {},
): string {
  const { site, publisherLogo } = ctx.renderer;
  if (topic === 'article') {
    const row = item as ArticleRow;
    const article = articleView(row);
    const og = articleMeta(site, article);
    // A live page is a LiveBlogPosting with its newest entries (producer/live-pages.ts).
    const live = row.live ? liveView(row) : undefined;
    const jsonLd = live
      ? liveBlogJsonLd(site, publisherLogo, article, live.entries, article.modifiedAt)
      : articleJsonLd(site, publisherLogo, article);
    return view(ctx, 'article.njk', { article, og, jsonLd, live, ...extra });
  }
  const event = eventView(item as EventRow);
  return view(ctx, 'event.njk', {
    event,
    og: eventMeta(site, event),
    jsonLd: eventJsonLd(site, publisherLogo, event),
    ...extra,
  });
}

/** The pages a reference stands for: one, none (nothing to show or to tombstone), or several (a month's pages). */
export async function renderRef(ctx: PageContext, ref: PageRef): Promise<RenderedPage[]> {
  await withChrome(ctx);
  if (ref.kind === 'index-bucket') return renderBucket(ctx, ref.key, ref.bucket, ref.at, ref.tail);
  const page = await renderOne(ctx, ref);
  return page ? [page] : [];
}

/** The home page: the featured stories once, above the latest without them. */
async function renderHome(ctx: PageContext): Promise<RenderedPage> {
  const { db, now } = ctx;
  // Read enough to fill the latest without the featured ones.
  const [newest, featured, sections] = await Promise.all([
    listArticles(db, 'all', { limit: LATEST + FEATURED }),
    listArticles(db, 'featured', { limit: FEATURED }),
    sectionsNav(db),
  ]);
  const shown = new Set(featured.map((a) => a.id));
  const latest = newest.filter((a) => !shown.has(a.id)).slice(0, LATEST);
  return page(
    HOME_PATH,
    'index',
    view(ctx, 'home.njk', {
      latest: latest.map(articleView),
      featured: featured.map(articleView),
      sections,
      og: listingMeta(
        ctx.renderer.site,
        ctx.renderer.site.name,
        ctx.renderer.site.description || ctx.renderer.locale.t('home.description', { site: ctx.renderer.site.name }),
        HOME_PATH,
      ),
    }),
    HTML,
    now,
  );
}

async function renderOne(
  ctx: PageContext,
  ref: Exclude<PageRef, { kind: 'index-bucket' }>,
): Promise<RenderedPage | undefined> {
  const { db, now } = ctx;
  switch (ref.kind) {
    case 'item': {
      const item = ref.visible
        ? (ref.topic === 'article'
            ? await loadArticles(db, [ref.id], { body: true })
            : await loadEvents(db, [ref.id], { body: true }))[0]
        : undefined;
      return renderItem(ctx, ref.topic, item, ref.slug, ref.visible);
    }
    case 'redirect':
      // An item that is not visible shows no new address: its former slugs are tombstones like its page.
      return ref.visible ? renderRedirect(ctx, ref) : renderItem(ctx, ref.topic, undefined, ref.slug, false);
    case 'live-page':
    case 'live-updates':
      return renderLiveRef(ctx, ref);
    case 'home':
      return renderHome(ctx);
    case 'site-index':
      return renderSiteIndex(ctx, ref.which);
    case 'not-found':
      return renderNotFound(ctx);
    case 'search':
      return page(SEARCH_PATH, 'index', view(ctx, 'search.njk', {}), HTML, ctx.now);
    case 'index-root':
      return renderRoot(ctx, ref.key);
    case 'feed': {
      const title = await titleOf(ctx, ref.key);
      if (title === undefined) return undefined;
      const items = (await latestOf(ctx, ref.key, FEED_ITEMS)).map(articleView);
      const paths = feedPaths(ref.key);
      const self = ref.format === 'rss' ? paths.rss : paths.atom;
      const context = {
        title,
        items,
        self,
        link: ref.key === 'all' ? HOME_PATH : indexRootPath(ref.key),
        // The newest publication or public note among the entries (RFC 4287 §4.2.15).
        updated: Math.max(0, ...items.map((a) => a.modifiedAt ?? a.publishedAt ?? 0)),
      };
      return xmlPage(self, ctx.renderer.render(`${ref.format}.njk`, context), ref.format === 'rss' ? RSS : ATOM, now);
    }
    case 'sitemap-shard': {
      const rows = await sitemapEntries(db, ref.topic, ref.shard);
      const urls = rows.map((r) => ({
        url: ref.topic === 'article' ? articlePath(r.slug) : eventPath(r.slug),
        lastmod: r.lastmod,
      }));
      return xmlPage(sitemapShardPath(ref.topic, ref.shard), ctx.renderer.render('sitemap.njk', { urls }), XML, now);
    }
    case 'news-sitemap': {
      // Judged by this render's clock too: an article past the window is left out even before its entry is dropped.
      const rows = await newsEntries(db, now - NEWS_WINDOW_MS, NEWS_SITEMAP_MAX);
      const urls = rows.map((r) => ({ url: articlePath(r.slug), title: r.title, publishedAt: r.publishedAt }));
      return xmlPage(NEWS_SITEMAP_PATH, ctx.renderer.render('sitemap-news.njk', { urls }), XML, now);
    }
    case 'authors-sitemap': {
      const authors = await listingsWithArticles(db, 'author');
      // Gone with the last author page, like a listing that emptied.
      if (authors.length === 0) return goneIfLive(ctx, AUTHORS_SITEMAP_PATH, 'listing');
      const urls = authors.map((a) => ({ url: a.url, lastmod: null }));
      return xmlPage(AUTHORS_SITEMAP_PATH, ctx.renderer.render('sitemap.njk', { urls }), XML, now);
    }
    case 'sitemap-index': {
      const shards: string[] = [];
      for (const topic of ['article', 'event'] as const) {
        for (const b of await bucketsOf(db, `sitemap:${topic}`)) shards.push(sitemapShardPath(topic, Number(b.bucket)));
      }
      if ((await listingsWithArticles(db, 'author')).length) shards.push(AUTHORS_SITEMAP_PATH);
      shards.sort();
      return xmlPage(SITEMAP_INDEX_PATH, ctx.renderer.render('sitemap-index.njk', { shards }), XML, now);
    }
  }
}

/**
 * An item's listing card, the `<li>` archive pages list: rendered once per
 * item (stored in render_state.card_html), not once per listing it is on.
 */
export function renderCard(renderer: Renderer, state: StoredState): string {
  const item =
    state.topic === 'event'
      ? eventView(eventOfCard(state.card as EventCard))
      : articleView(articleOfCard(state.card as ArticleCard));
  return renderer.render('card.njk', { item, events: state.topic === 'event' }).trim();
}

function cardOf(renderer: Renderer, listed: ListedCard): string {
  return listed.html ?? renderCard(renderer, parseState(listed.state));
}

/**
 * The site files from configuration (stylesheet, favicon, icon, manifest):
 * offered by every render group and rebuild batch, so a changed file is
 * live before the first page that links it (the journal keeps only changed
 * bytes). Content-hashed ones are immutable on mirrors.
 */
export function siteFilePages(renderer: Renderer, now: number): RenderedPage[] {
  return renderer.files.map((f) => ({
    path: f.path,
    kind: 'media' as const,
    op: 'put' as const,
    body: f.body,
    contentType: f.contentType,
    lastModified: now,
  }));
}

/** The page mirrors serve, with status 404, for any path they do not hold. */
async function renderNotFound(ctx: PageContext): Promise<RenderedPage> {
  await withChrome(ctx);
  const sections = await sectionsNav(ctx.db);
  return page(NOT_FOUND_PATH, 'index', view(ctx, '404.njk', { sections }), HTML, ctx.now);
}

/**
 * The pages every render group offers besides its own: the 404 page (it
 * shows the header), the search page, and the section and tag indexes until they first exist
 * (a site whose articles have no section still links /sections). Unchanged
 * bytes journal nothing.
 */
export async function siteWideRefs(db: PageContext['db']): Promise<PageRef[]> {
  const live = new Set(
    (await db('pages').whereIn('path', [SECTIONS_PATH, TAGS_PATH]).select('path')).map((r) => String(r.path)),
  );
  const refs: PageRef[] = [{ kind: 'not-found' }, { kind: 'search' }];
  if (!live.has(SECTIONS_PATH)) refs.push({ kind: 'site-index', which: 'sections' });
  if (!live.has(TAGS_PATH)) refs.push({ kind: 'site-index', which: 'tags' });
  return refs;
}

const SITE_INDEXES = {
  sections: { kind: 'section', path: SECTIONS_PATH, title: 'nav.sections' },
  tags: { kind: 'tag', path: TAGS_PATH, title: 'nav.tags' },
  authors: { kind: 'author', path: AUTHORS_PATH, title: 'nav.authors' },
} as const;

/** /sections, /tags or /authors: every section, tag or author that has a public listing. */
async function renderSiteIndex(ctx: PageContext, which: keyof typeof SITE_INDEXES): Promise<RenderedPage> {
  const { kind, path, title: titleKey } = SITE_INDEXES[which];
  const [links, sections] = await Promise.all([listingsWithArticles(ctx.db, kind), sectionsNav(ctx.db)]);
  const { site, locale } = ctx.renderer;
  const title = locale.t(titleKey);
  const og = listingMeta(site, title, locale.t('siteIndex.description', { title, site: site.name }), path);
  return page(path, 'index', view(ctx, 'site-index.njk', { which, title, links, og, sections }), HTML, ctx.now);
}

/** A listing's description for sharing: "News on Hyperstatic News". */
function onSite(ctx: PageContext, title: string): string {
  return ctx.renderer.locale.t('listing.description', { title, site: ctx.renderer.site.name });
}

async function titleOf(ctx: PageContext, key: IndexKey): Promise<string | undefined> {
  // The site's own listings are named in its language; a section or tag by its name.
  if (key === 'all') return ctx.renderer.locale.t('listing.latest');
  if (key === 'events') return ctx.renderer.locale.t('listing.events');
  if (ctx.titles?.has(key)) return ctx.titles.get(key);
  const title = await listingName(ctx.db, key);
  ctx.titles?.set(key, title);
  return title;
}

/** A listing's newest `limit` articles, shared by its root page and feeds within one context. */
function latestOf(ctx: PageContext, key: IndexKey, limit: number): Promise<ArticleRow[]> {
  const id = `${key}\u0000${limit}`;
  const cached = ctx.latest?.get(id);
  if (cached) return cached;
  const read = listArticles(ctx.db, key, { limit });
  ctx.latest?.set(id, read);
  return read;
}

async function renderRoot(ctx: PageContext, key: IndexKey): Promise<RenderedPage | undefined> {
  const { db, now } = ctx;
  const title = await titleOf(ctx, key);
  // An author whose slug changed (or who is gone) names no one: the old page is a tombstone, not left as it was.
  if (title === undefined)
    return key.startsWith('author:') ? goneIfLive(ctx, indexRootPath(key), 'listing') : undefined;
  const buckets = (await bucketsOf(db, key)).map((b) => ({ ...b, url: indexMonthPath(key, b.bucket) }));
  const path = indexRootPath(key);
  if (key === 'events') {
    // The calendar's front: what is coming from the start of this month on.
    const from = Date.parse(`${monthOf(now)}-01T00:00:00Z`);
    const items = (await listEvents(db, { from, limit: LATEST, order: 'asc' })).map(eventView);
    const og = listingMeta(ctx.renderer.site, title, onSite(ctx, title), path);
    return page(path, 'index', view(ctx, 'index.njk', { title, items, buckets, events: true, og }), HTML, now);
  }
  if (buckets.length === 0 && key !== 'all') {
    // The listing is empty: its root page (and feeds) are gone with it.
    return goneIfLive(ctx, path, 'listing');
  }
  if (key.startsWith('author:')) {
    // An author's page: who they are, then their newest articles and events (one listing, by date).
    const author = await authorOf(db, key.slice('author:'.length));
    if (!author) return goneIfLive(ctx, path, 'listing');
    const cards = (await latestCards(db, key, LATEST)).map((c) => cardOf(ctx.renderer, c));
    const og = listingMeta(ctx.renderer.site, author.name, author.bio || onSite(ctx, author.name), path);
    return page(path, 'index', view(ctx, 'author.njk', { author, cards, buckets, og }), HTML, now);
  }
  const items = (await latestOf(ctx, key, LATEST)).map(articleView);
  const og = listingMeta(ctx.renderer.site, title, onSite(ctx, title), path);
  return page(path, 'index', view(ctx, 'index.njk', { title, items, buckets, feeds: feedPaths(key), og }), HTML, now);
}

/**
 * Pages of one month of a listing, ARCHIVE_PAGE_SIZE items each, numbered
 * from the oldest: the page holding `at` (and with `tail` every later one),
 * or all of them. Pages past the month's end that were public become 410
 * tombstones, so nothing links to a page that lists items it no longer has.
 */
async function renderBucket(
  ctx: PageContext,
  key: IndexKey,
  bucket: string,
  at: Position | undefined,
  tail: boolean,
): Promise<RenderedPage[]> {
  const { db, renderer, now } = ctx;
  const title = await titleOf(ctx, key);
  const ahead = ctx.months?.sizes.get(`${key}\u0000${bucket}`);
  const size = title === undefined ? 0 : (ahead ?? (await bucketSize(db, key, bucket)));
  const last = Math.max(1, Math.ceil(size / ARCHIVE_PAGE_SIZE));
  let first = 1;
  let upTo = last;
  if (at) {
    const rank = await rankInBucket(db, key, bucket, at);
    first = Math.min(last, Math.floor(rank / ARCHIVE_PAGE_SIZE) + 1);
    upTo = tail ? last : first;
    // An item that starts a page creates or empties it: the page before gains or loses its link to it.
    if (tail && rank > 0 && rank % ARCHIVE_PAGE_SIZE === 0) first = Math.max(1, Math.floor(rank / ARCHIVE_PAGE_SIZE));
  }
  const events = key === 'events';
  const pages: RenderedPage[] = [];
  // Every page of the month (a rebuild): one read, cut into pages here.
  const whole =
    size > 0 && first === 1 && upTo === last
      ? (ctx.months?.cards.get(`${key}\u0000${bucket}`) ?? (last > 1 ? await listBucket(db, key, bucket) : undefined))
      : undefined;
  for (let n = size === 0 ? last + 1 : first; n <= upTo; n++) {
    const range = { offset: (n - 1) * ARCHIVE_PAGE_SIZE, limit: ARCHIVE_PAGE_SIZE };
    const listed = whole
      ? whole.slice(range.offset, range.offset + range.limit)
      : await listBucket(db, key, bucket, range);
    // Articles newest first on each page, as everywhere else; the calendar in date order.
    const cards = listed.map((c) => cardOf(renderer, c));
    if (!events) cards.reverse();
    const context = {
      title,
      month: bucket,
      page: n,
      cards,
      events,
      rootUrl: indexRootPath(key),
      earlier: n > 1 ? indexMonthPath(key, bucket, n - 1) : undefined,
      later: n < last ? indexMonthPath(key, bucket, n + 1) : undefined,
      og: listingMeta(
        ctx.renderer.site,
        renderer.locale.t('bucket.heading', { title, month: renderer.locale.month(bucket) }),
        onSite(ctx, title ?? ''),
        indexMonthPath(key, bucket, n),
      ),
    };
    pages.push(page(indexMonthPath(key, bucket, n), 'index', view(ctx, 'bucket.njk', context), HTML, now));
  }
  if (size === 0 || tail || !at) pages.push(...(await goneBeyond(ctx, key, bucket, size === 0 ? 0 : last)));
  return pages;
}

/** A 410 tombstone for `path` where a page was ever public; nothing otherwise. */
async function goneIfLive(ctx: PageContext, path: string, what: string): Promise<RenderedPage | undefined> {
  const live = await ctx.db('pages').where({ path }).first('op');
  if (!live || live.op !== 'put') return undefined;
  return { ...page(path, 'index', view(ctx, 'gone.njk', { what }), HTML, ctx.now), op: 'gone' };
}

/** Tombstones for the public pages of a month numbered after `last` (all of them when the month emptied). */
async function goneBeyond(ctx: PageContext, key: IndexKey, bucket: string, last: number): Promise<RenderedPage[]> {
  const first = indexMonthPath(key, bucket);
  const prefix = `${first}/`;
  // A prefix range on the primary key; LIKE's wildcards (slugs have none) are filtered out below.
  const live = ctx.months
    ? [...ctx.months.live].filter((path) => path === first || path.startsWith(prefix)).map((path) => ({ path }))
    : await ctx
        .db('pages')
        .where('op', 'put')
        .where((q) => q.where('path', first).orWhere('path', 'like', `${prefix}%`))
        .select('path');
  const numberOf = (path: string) =>
    path === first
      ? 1
      : path.startsWith(prefix) && /^[1-9]\d*$/.test(path.slice(prefix.length))
        ? Number(path.slice(prefix.length))
        : 0;
  const beyond = live.map((r) => String(r.path)).filter((path) => numberOf(path) > last);
  if (beyond.length === 0) return [];
  const body = view(ctx, 'gone.njk', { what: 'archive page' });
  return beyond.map((path) => ({ ...page(path, 'index', body, HTML, ctx.now), op: 'gone' as const }));
}
