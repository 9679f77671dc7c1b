// The listing reads the producer renders from (the items themselves are read
// by item-rows.ts). Every listing reads index_entries by (key, bucket) or
// (key, newest first): bounded by the page's own items, never by the size of
// the site.
import type { Knex } from 'knex';
import type { ArticleCard, ArticleRow, EventCard, EventRow } from './item-rows';

type Db = Knex | Knex.Transaction;

export interface Bucket {
  bucket: string;
  items: number;
}

export interface ListingOptions {
  bucket?: string;
  limit?: number;
  offset?: number;
  from?: number;
  order?: 'asc' | 'desc';
}

/** Item ids of a listing: one bucket, or the newest `limit` (ascending from `from` when given). */
export async function listingIds(db: Db, key: string, options: ListingOptions): Promise<number[]> {
  const order = options.order ?? 'desc';
  // The order is the primary key's (index_key, sort_at, topic, item_id; topic is constant within a key), so
  // "newest N" is an index range read of N rows, never a sort of the whole listing.
  const q = db('index_entries')
    .where('index_key', key)
    .orderBy([
      { column: 'sort_at', order },
      { column: 'topic', order },
      { column: 'item_id', order },
    ])
    .select('item_id');
  if (options.bucket !== undefined) q.where('bucket', options.bucket);
  if (options.from !== undefined) q.where('sort_at', '>=', options.from);
  if (options.limit !== undefined) q.limit(options.limit);
  if (options.offset) q.offset(options.offset);
  return (await q).map((r) => Number(r.item_id));
}

/** Listing cards (render_state) by id, in the order given: one primary-key range read, no joins. */
async function cards<T>(db: Db, topic: 'article' | 'event', ids: number[]): Promise<T[]> {
  if (ids.length === 0) return [];
  const rows = await db('render_state').where('topic', topic).whereIn('item_id', ids).select('item_id', 'state');
  const byId = new Map(rows.map((r) => [Number(r.item_id), (JSON.parse(String(r.state)) as { card: T }).card]));
  return ids.map((id) => byId.get(id)).filter((c): c is Awaited<T> => c !== undefined);
}

/** Articles of a listing, in listing order (listing fields only: no body, no tags). */
export async function listArticles(db: Db, key: string, options: ListingOptions): Promise<ArticleRow[]> {
  return (await cards<ArticleCard>(db, 'article', await listingIds(db, key, options))).map(articleOfCard);
}

export async function listEvents(db: Db, options: ListingOptions): Promise<EventRow[]> {
  return (await cards<EventCard>(db, 'event', await listingIds(db, 'events', options))).map(eventOfCard);
}

/** A listed article as a row (listing fields only: no body, no tags), built field by field (see articleView). */
export function articleOfCard(c: ArticleCard): ArticleRow {
  return {
    id: c.id,
    slug: c.slug,
    title: c.title,
    summary: c.summary,
    body: '',
    status: 'published',
    featured: false,
    leadImage: c.leadImage,
    section: c.section,
    tags: [],
    // Cards stored before people had a byline of login names: none until the item renders again.
    authors: (c.authors ?? []).map((p) => ({ slug: p.slug, name: p.name, bio: '' })),
    publishedAt: c.publishedAt,
    updatedAt: c.publishedAt ?? 0,
    // Cards stored before live coverage lack both.
    live: c.live ?? false,
    liveUpdatedAt: c.liveUpdatedAt ?? null,
    entries: [],
    notes: [],
    modifiedAt: c.modifiedAt ?? null,
    formerSlugs: [],
  };
}

export function eventOfCard(c: EventCard): EventRow {
  return {
    id: c.id,
    slug: c.slug,
    title: c.title,
    summary: c.summary,
    body: '',
    location: c.location,
    startsAt: c.startsAt,
    endsAt: c.endsAt,
    status: 'published',
    featured: false,
    leadImage: c.leadImage,
    tags: [],
    authors: [],
    updatedAt: 0,
    notes: [],
    formerSlugs: [],
    modifiedAt: null,
  };
}

/** A listed item's card: its rendered `<li>` (null when stored before cards were kept), and its stored state to render it from then. */
export interface ListedCard {
  html: string | null;
  state: string;
}

/**
 * One month of a listing oldest first, cards joined in one query (a page of
 * it with `range`): archive pages read it, the full rebuild a whole month at once.
 */
export async function listBucket(
  db: Db,
  key: string,
  bucket: string,
  range?: { offset: number; limit: number },
): Promise<ListedCard[]> {
  const q = db('index_entries')
    .join('render_state', (j) =>
      j.on('render_state.topic', 'index_entries.topic').andOn('render_state.item_id', 'index_entries.item_id'),
    )
    .where('index_entries.index_key', key)
    .where('index_entries.bucket', bucket)
    .orderBy([
      { column: 'index_entries.sort_at' },
      { column: 'index_entries.topic' },
      { column: 'index_entries.item_id' },
    ])
    // The state only where the card is missing: it is several times the card's size.
    .select(
      'render_state.card_html',
      db.raw('case when render_state.card_html is null then render_state.state end as state'),
    );
  if (range) q.limit(range.limit).offset(range.offset);
  return (await q).map((r) => ({
    html: r.card_html == null ? null : String(r.card_html),
    state: r.state == null ? '' : String(r.state),
  }));
}

/** Every item of several months (listing, bucket), each oldest first, in one read: the full rebuild's archive pages. */
export async function listBuckets(
  db: Db,
  months: { key: string; bucket: string }[],
): Promise<Map<string, ListedCard[]>> {
  const out = new Map<string, ListedCard[]>();
  if (months.length === 0) return out;
  const rows = await db('index_entries')
    .join('render_state', (j) =>
      j.on('render_state.topic', 'index_entries.topic').andOn('render_state.item_id', 'index_entries.item_id'),
    )
    .where((q) => {
      for (const m of months)
        q.orWhere((q2) => q2.where('index_entries.index_key', m.key).where('index_entries.bucket', m.bucket));
    })
    .orderBy([
      { column: 'index_entries.index_key' },
      { column: 'index_entries.bucket' },
      { column: 'index_entries.sort_at' },
      { column: 'index_entries.topic' },
      { column: 'index_entries.item_id' },
    ])
    .select(
      'index_entries.index_key',
      'index_entries.bucket',
      'render_state.card_html',
      db.raw('case when render_state.card_html is null then render_state.state end as state'),
    );
  for (const r of rows) {
    const id = `${r.index_key}\u0000${r.bucket}`;
    const list = out.get(id) ?? [];
    list.push({
      html: r.card_html == null ? null : String(r.card_html),
      state: r.state == null ? '' : String(r.state),
    });
    out.set(id, list);
  }
  return out;
}

/** Non-empty buckets of a listing, newest first. */
export async function bucketsOf(db: Db, key: string): Promise<Bucket[]> {
  const rows = await db('index_buckets')
    .where('index_key', key)
    .where('items', '>', 0)
    .orderBy('bucket', 'desc')
    .select('bucket', 'items');
  return rows.map((r) => ({ bucket: String(r.bucket), items: Number(r.items) }));
}

/** Items of a bucket listed before `at` in listing order (sort_at, topic, item_id): its 0-based rank. */
export async function rankInBucket(
  db: Db,
  key: string,
  bucket: string,
  at: { sortAt: number; topic: string; id: number },
): Promise<number> {
  const [row] = await db('index_entries')
    .where({ index_key: key, bucket })
    .where((q) =>
      q
        .where('sort_at', '<', at.sortAt)
        .orWhere((q2) =>
          q2
            .where('sort_at', at.sortAt)
            .where((q3) =>
              q3
                .where('topic', '<', at.topic)
                .orWhere((q4) => q4.where('topic', at.topic).where('item_id', '<', at.id)),
            ),
        ),
    )
    .count({ n: '*' });
  return Number(row.n);
}

/** Items in one bucket of a listing (the count kept in index_buckets). */
export async function bucketSize(db: Db, key: string, bucket: string): Promise<number> {
  const row = await db('index_buckets').where({ index_key: key, bucket }).first('items');
  return Number(row?.items ?? 0);
}

/** Adjusts bucket counts by the rows an item left (-1) and entered (+1); a bucket at 0 is removed. */
export async function adjustBuckets(db: Db, changes: { key: string; bucket: string; delta: number }[]): Promise<void> {
  for (const { key, bucket, delta } of changes) {
    if (delta === 0) continue;
    const row = await db('index_buckets').where({ index_key: key, bucket }).first('items');
    const items = Math.max(0, Number(row?.items ?? 0) + delta);
    if (items === 0) await db('index_buckets').where({ index_key: key, bucket }).delete();
    else if (row) await db('index_buckets').where({ index_key: key, bucket }).update({ items });
    else await db('index_buckets').insert({ index_key: key, bucket, items });
  }
}

/** Display name of a listing key ('section:news' → the section's name). */
export async function listingName(db: Db, key: string): Promise<string | undefined> {
  if (key === 'all') return 'All articles';
  if (key === 'events') return 'Events';
  const i = key.indexOf(':');
  if (key.slice(0, i) === 'author') return (await authorOf(db, key.slice(i + 1)))?.name;
  const table = key.slice(0, i) === 'section' ? 'sections' : 'tags';
  const row = await db(table)
    .where({ slug: key.slice(i + 1) })
    .first('name');
  return row?.name as string | undefined;
}

/** The author an author page is about (display name and bio), by their slug. */
export async function authorOf(db: Db, slug: string): Promise<{ slug: string; name: string; bio: string } | undefined> {
  const row = await db('users').where({ slug }).first('slug', 'name', 'display_name', 'bio');
  return row
    ? { slug: String(row.slug), name: String(row.display_name ?? row.name), bio: String(row.bio ?? '') }
    : undefined;
}

/** The newest `limit` items of a mixed listing (an author's: articles and events), as their stored cards. */
export async function latestCards(db: Db, key: string, limit: number): Promise<ListedCard[]> {
  const rows = await db('index_entries')
    .join('render_state', (j) =>
      j.on('render_state.topic', 'index_entries.topic').andOn('render_state.item_id', 'index_entries.item_id'),
    )
    .where('index_entries.index_key', key)
    .orderBy([
      { column: 'index_entries.sort_at', order: 'desc' },
      { column: 'index_entries.topic', order: 'desc' },
      { column: 'index_entries.item_id', order: 'desc' },
    ])
    .limit(limit)
    .select(
      'render_state.card_html',
      db.raw('case when render_state.card_html is null then render_state.state end as state'),
    );
  return rows.map((r) => ({
    html: r.card_html == null ? null : String(r.card_html),
    state: r.state == null ? '' : String(r.state),
  }));
}

/** The news sitemap: articles published since `since`, newest first, at most `limit`. */
export async function newsEntries(
  db: Db,
  since: number,
  limit: number,
): Promise<{ slug: string; title: string; publishedAt: number }[]> {
  const ids = await listingIds(db, 'news', { from: since, limit });
  const list = await cards<{ slug: string; title: string; publishedAt: number | null }>(db, 'article', ids);
  return list.map((c) => ({ slug: c.slug, title: c.title, publishedAt: c.publishedAt ?? 0 }));
}

/** Sitemap shard: the visible items with ids in the shard, from their listing cards (no content-table reads). */
export async function sitemapEntries(
  db: Db,
  topic: 'article' | 'event',
  shard: number,
): Promise<{ slug: string; lastmod: number | null }[]> {
  const ids = await listingIds(db, `sitemap:${topic}`, { bucket: String(shard), order: 'asc' });
  const list = await cards<{ slug: string; publishedAt?: number | null }>(db, topic, ids);
  return list.map((c) => ({ slug: c.slug, lastmod: c.publishedAt ?? null }));
}
