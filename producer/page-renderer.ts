// Turns a page reference from the dependency model into rendered bytes,
// reading what the page shows from the database handle it is given (the
// render job's transaction, so every page of a batch sees one snapshot).
import type { Knex } from 'knex';
import type { PageKind } from '../common/feed-format';
import {
  ARCHIVE_PAGE_SIZE,
  articlePath,
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
  SITEMAP_INDEX_PATH,
  sitemapShardPath,
} from '../common/site-paths';
import type { PageRef, Position, Topic } from './affected-pages';
import type { RenderedPage } from './change-journal';
import { ArticleCard, EventCard, parseState, StoredState } from './item-state';
import { articleView, eventView, Renderer } from './renderer';
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
  listingName,
  rankInBucket,
  newsEntries,
  sitemapEntries,
} from './site-queries';

export const HTML = 'text/html; charset=utf-8';
const RSS = 'application/rss+xml; charset=utf-8';
const ATOM = 'application/atom+xml; charset=utf-8';
const XML = 'application/xml; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
export const LATEST = 20;
const FEATURED = 3;
const FEED_ITEMS = 20;

export interface PageContext {
  db: Knex | Knex.Transaction;
  renderer: Renderer;
  now: number;
  /** Listing titles already read in this context (a rebuild batch renders many pages of one listing). */
  titles?: Map<string, string | undefined>;
  /** Read ahead for a batch of months (the full rebuild): their sizes, their public archive pages and their cards. */
  months?: MonthsAhead;
  /** A listing's newest items, read once for its root page and both feeds (a rebuild batch, one snapshot). */
  latest?: Map<string, Promise<ArticleRow[]>>;
}

export interface MonthsAhead {
  /** Items per `${key}\u0000${bucket}`. */
  sizes: Map<string, number>;
  /** Paths of the months' archive pages that are public now. */
  live: Set<string>;
  /** Each month's cards, oldest first, by `${key}\u0000${bucket}`. */
  cards: Map<string, ListedCard[]>;
}

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

function page(path: string, kind: PageKind, body: string, contentType: string, lastModified: number): RenderedPage {
  return { path, kind, op: 'put', body: Buffer.from(body), contentType, lastModified };
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
  if (visible && item) {
    const body =
      topic === 'article'
        ? ctx.renderer.render('article.njk', { article: articleView(item as ArticleRow) })
        : ctx.renderer.render('event.njk', { event: eventView(item as EventRow) });
    return page(path, 'article', body, HTML, item.updatedAt);
  }
  const live = await ctx.db('pages').where({ path }).first('op');
  if (!live || live.op !== 'put') return undefined;
  return { ...page(path, 'article', ctx.renderer.render('gone.njk', { what: topic }), HTML, ctx.now), op: 'gone' };
}

/** The pages a reference stands for: one, none (nothing to show or to tombstone), or several (a month's pages). */
export async function renderRef(ctx: PageContext, ref: PageRef): Promise<RenderedPage[]> {
  if (ref.kind === 'index-bucket') return renderBucket(ctx, ref.key, ref.bucket, ref.at, ref.tail);
  const page = await renderOne(ctx, ref);
  return page ? [page] : [];
}

async function renderOne(
  ctx: PageContext,
  ref: Exclude<PageRef, { kind: 'index-bucket' }>,
): Promise<RenderedPage | undefined> {
  const { db, renderer, now } = ctx;
  switch (ref.kind) {
    case 'item': {
      const item = ref.visible
        ? (ref.topic === 'article'
            ? await loadArticles(db, [ref.id], { body: true })
            : await loadEvents(db, [ref.id], { body: true }))[0]
        : undefined;
      return renderItem(ctx, ref.topic, item, ref.slug, ref.visible);
    }
    case 'home': {
      const [latest, featured] = await Promise.all([
        listArticles(db, 'all', { limit: LATEST }),
        listArticles(db, 'featured', { limit: FEATURED }),
      ]);
      return page(
        HOME_PATH,
        'index',
        renderer.render('home.njk', { latest: latest.map(articleView), featured: featured.map(articleView) }),
        HTML,
        now,
      );
    }
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
        updated: items[0]?.publishedAt ?? 0,
      };
      return page(self, 'feed', renderer.render(`${ref.format}.njk`, context), ref.format === 'rss' ? RSS : ATOM, now);
    }
    case 'sitemap-shard': {
      const rows = await sitemapEntries(db, ref.topic, ref.shard);
      const urls = rows.map((r) => ({
        url: ref.topic === 'article' ? articlePath(r.slug) : eventPath(r.slug),
        lastmod: r.lastmod,
      }));
      return page(sitemapShardPath(ref.topic, ref.shard), 'feed', renderer.render('sitemap.njk', { urls }), XML, now);
    }
    case 'news-sitemap': {
      // Judged by this render's clock too: an article past the window is left out even before its entry is dropped.
      const rows = await newsEntries(db, now - NEWS_WINDOW_MS, NEWS_SITEMAP_MAX);
      const urls = rows.map((r) => ({ url: articlePath(r.slug), title: r.title, publishedAt: r.publishedAt }));
      return page(NEWS_SITEMAP_PATH, 'feed', renderer.render('sitemap-news.njk', { urls }), XML, now);
    }
    case 'sitemap-index': {
      const shards: string[] = [];
      for (const topic of ['article', 'event'] as const) {
        for (const b of await bucketsOf(db, `sitemap:${topic}`)) shards.push(sitemapShardPath(topic, Number(b.bucket)));
      }
      shards.sort();
      return page(SITEMAP_INDEX_PATH, 'feed', renderer.render('sitemap-index.njk', { shards }), XML, now);
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

/** The stylesheet pages link to: written by every rebuild and when a producer starts, so a new name is live before pages link it. */
export function stylesheetPage(renderer: Renderer, now: number): RenderedPage {
  return {
    path: renderer.stylesheet.path,
    kind: 'media',
    op: 'put',
    body: renderer.stylesheet.body,
    contentType: CSS,
    lastModified: now,
  };
}

export function renderNotFound(ctx: PageContext): RenderedPage {
  return page(NOT_FOUND_PATH, 'index', ctx.renderer.render('404.njk', {}), HTML, ctx.now);
}

async function titleOf(ctx: PageContext, key: IndexKey): Promise<string | undefined> {
  if (key === 'all') return 'Latest articles';
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
  const { db, renderer, now } = ctx;
  const title = await titleOf(ctx, key);
  if (title === undefined) return undefined;
  const buckets = (await bucketsOf(db, key)).map((b) => ({ ...b, url: indexMonthPath(key, b.bucket) }));
  const path = indexRootPath(key);
  if (key === 'events') {
    // The calendar's front: what is coming from the start of this month on.
    const from = Date.parse(`${monthOf(now)}-01T00:00:00Z`);
    const items = (await listEvents(db, { from, limit: LATEST, order: 'asc' })).map(eventView);
    return page(path, 'index', renderer.render('index.njk', { title, items, buckets, events: true }), HTML, now);
  }
  if (buckets.length === 0 && key !== 'all') {
    // The listing is empty: its root page (and feeds) are gone with it.
    const live = await db('pages').where({ path }).first('op');
    if (!live || live.op !== 'put') return undefined;
    return { ...page(path, 'index', renderer.render('gone.njk', { what: 'listing' }), HTML, now), op: 'gone' };
  }
  const items = (await latestOf(ctx, key, LATEST)).map(articleView);
  return page(path, 'index', renderer.render('index.njk', { title, items, buckets, feeds: feedPaths(key) }), HTML, now);
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
    };
    pages.push(page(indexMonthPath(key, bucket, n), 'index', renderer.render('bucket.njk', context), HTML, now));
  }
  if (size === 0 || tail || !at) pages.push(...(await goneBeyond(ctx, key, bucket, size === 0 ? 0 : last)));
  return pages;
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
  const body = ctx.renderer.render('gone.njk', { what: 'archive page' });
  return beyond.map((path) => ({ ...page(path, 'index', body, HTML, ctx.now), op: 'gone' as const }));
}
