// Turns a page reference from the dependency model into rendered bytes,
// reading what the page shows from the database handle it is given (the
// render job's transaction, so every page of a batch sees one snapshot).
import type { Knex } from 'knex';
import type { PageKind } from '../common/feed-format';
import {
  articlePath, eventPath, feedPaths, HOME_PATH, IndexKey, indexMonthPath, indexRootPath, monthOf, NOT_FOUND_PATH,
  SITEMAP_INDEX_PATH, sitemapShardPath,
} from '../common/site-paths';
import type { PageRef, Topic } from './affected-pages';
import type { RenderedPage } from './change-journal';
import { articleView, eventView, Renderer } from './renderer';
import { ArticleRow, bucketsOf, EventRow, listArticles, listEvents, listingName, loadArticles, loadEvents, sitemapEntries } from './site-queries';

export const HTML = 'text/html; charset=utf-8';
const RSS = 'application/rss+xml; charset=utf-8';
const ATOM = 'application/atom+xml; charset=utf-8';
const XML = 'application/xml; charset=utf-8';
export const LATEST = 20;
const FEATURED = 3;
const FEED_ITEMS = 20;

export interface PageContext {
  db: Knex | Knex.Transaction;
  renderer: Renderer;
  now: number;
}

function page(path: string, kind: PageKind, body: string, contentType: string, lastModified: number): RenderedPage {
  return { path, kind, op: 'put', body: Buffer.from(body), contentType, lastModified };
}

/** An item's public page (put), or its 410 tombstone where a page was ever public. */
export async function renderItem(ctx: PageContext, topic: Topic, item: ArticleRow | EventRow | undefined, slug: string, visible: boolean): Promise<RenderedPage | undefined> {
  const path = topic === 'article' ? articlePath(slug) : eventPath(slug);
  if (visible && item) {
    const body = topic === 'article'
      ? ctx.renderer.render('article.njk', { article: articleView(item as ArticleRow) })
      : ctx.renderer.render('event.njk', { event: eventView(item as EventRow) });
    return page(path, 'article', body, HTML, item.updatedAt);
  }
  const live = await ctx.db('pages').where({ path }).first('op');
  if (!live || live.op !== 'put') return undefined;
  return { ...page(path, 'article', ctx.renderer.render('gone.njk', { what: topic }), HTML, ctx.now), op: 'gone' };
}

export async function renderRef(ctx: PageContext, ref: PageRef): Promise<RenderedPage | undefined> {
  const { db, renderer, now } = ctx;
  switch (ref.kind) {
    case 'item': {
      const item = ref.visible ? (ref.topic === 'article' ? await loadArticles(db, [ref.id], { body: true }) : await loadEvents(db, [ref.id], { body: true }))[0] : undefined;
      return renderItem(ctx, ref.topic, item, ref.slug, ref.visible);
    }
    case 'home': {
      const [latest, featured] = await Promise.all([listArticles(db, 'all', { limit: LATEST }), listArticles(db, 'featured', { limit: FEATURED })]);
      return page(HOME_PATH, 'index', renderer.render('home.njk', { latest: latest.map(articleView), featured: featured.map(articleView) }), HTML, now);
    }
    case 'index-root':
      return renderRoot(ctx, ref.key);
    case 'index-bucket':
      return renderBucket(ctx, ref.key, ref.bucket);
    case 'feed': {
      const title = await titleOf(ctx, ref.key);
      if (title === undefined) return undefined;
      const items = (await listArticles(db, ref.key, { limit: FEED_ITEMS })).map(articleView);
      const paths = feedPaths(ref.key);
      const self = ref.format === 'rss' ? paths.rss : paths.atom;
      const context = { title, items, self, link: ref.key === 'all' ? HOME_PATH : indexRootPath(ref.key), updated: items[0]?.publishedAt ?? 0 };
      return page(self, 'feed', renderer.render(`${ref.format}.njk`, context), ref.format === 'rss' ? RSS : ATOM, now);
    }
    case 'sitemap-shard': {
      const rows = await sitemapEntries(db, ref.topic, ref.shard);
      const urls = rows.map((r) => ({ url: ref.topic === 'article' ? articlePath(r.slug) : eventPath(r.slug), lastmod: r.lastmod }));
      return page(sitemapShardPath(ref.topic, ref.shard), 'feed', renderer.render('sitemap.njk', { urls }), XML, now);
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

export function renderNotFound(ctx: PageContext): RenderedPage {
  return page(NOT_FOUND_PATH, 'index', ctx.renderer.render('404.njk', {}), HTML, ctx.now);
}

async function titleOf(ctx: PageContext, key: IndexKey): Promise<string | undefined> {
  if (key === 'all') return 'Latest articles';
  return listingName(ctx.db, key);
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
  const items = (await listArticles(db, key, { limit: LATEST })).map(articleView);
  return page(path, 'index', renderer.render('index.njk', { title, items, buckets, feeds: feedPaths(key) }), HTML, now);
}

async function renderBucket(ctx: PageContext, key: IndexKey, bucket: string): Promise<RenderedPage | undefined> {
  const { db, renderer, now } = ctx;
  const path = indexMonthPath(key, bucket);
  const title = await titleOf(ctx, key);
  const events = key === 'events';
  const items = events ? (await listEvents(db, { bucket, order: 'asc' })).map(eventView) : (await listArticles(db, key, { bucket })).map(articleView);
  if (items.length === 0 || title === undefined) {
    // The month emptied (its last item hidden or moved): a tombstone where it was public.
    const live = await db('pages').where({ path }).first('op');
    if (!live || live.op !== 'put') return undefined;
    return { ...page(path, 'index', renderer.render('gone.njk', { what: 'archive page' }), HTML, now), op: 'gone' };
  }
  return page(path, 'index', renderer.render('bucket.njk', { title, month: bucket, items, events, rootUrl: indexRootPath(key) }), HTML, now);
}
