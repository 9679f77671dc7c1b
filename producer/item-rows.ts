// Articles and events as the producer renders them: the row with its
// section, authors, tags and lead image, read by id in batches.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/**
 * An item's lead image: its renditions as <source>s (AVIF, then WebP; each
 * `srcset` lists every width, app/media/renditions.ts) and the original as
 * the fallback `src`, with the size it is shown at.
 */
export interface LeadImageRow {
  src: string;
  alt: string;
  width: number | null;
  height: number | null;
  sources: { type: string; srcset: string }[];
}

/** An entry of a live article (app/live/live-entries.ts). */
export interface LiveEntryRow {
  id: number;
  /** Its number within the article, from 1: the page of older entries holding it (common/site-paths.ts). */
  seq: number;
  body: string;
  postedAt: number;
  updatedAt: number;
}

/** A public note on a published item (app/content/item-notes.ts): a correction or an update, with its time. */
export interface PublicNote {
  kind: 'correction' | 'update';
  text: string;
  at: number;
}

/** An author as bylines and their author page show them (app/auth/people.ts); never the login name. */
export interface AuthorRow {
  slug: string;
  name: string;
  bio: string;
}

/** What a byline (and a listing card) shows of an author: the name, linking to their page. */
export type Byline = Pick<AuthorRow, 'slug' | 'name'>;

export interface ArticleRow {
  id: number;
  slug: string;
  title: string;
  summary: string;
  body: string;
  status: 'draft' | 'published' | 'hidden' | 'deleted';
  featured: boolean;
  leadImage: LeadImageRow | null;
  section: { slug: string; name: string } | null;
  tags: { slug: string; name: string }[];
  /** In byline order; none for an anonymous submission (the site signs it). */
  authors: AuthorRow[];
  publishedAt: number | null;
  updatedAt: number;
  /** A live page, and when an entry last changed (null: never). */
  live: boolean;
  liveUpdatedAt: number | null;
  /** Every entry of a live article, newest first; read with the body, empty otherwise. */
  entries: LiveEntryRow[];
  /** Public correction and update notes, oldest first (desk notes are never read here). */
  notes: PublicNote[];
  /** The latest public note's time: dateModified, and the feeds' updated time. */
  modifiedAt: number | null;
  /** Slugs the article left once public: each old path redirects to its page (app/content/slug-redirects.ts). */
  formerSlugs: string[];
}

export interface EventRow {
  id: number;
  slug: string;
  title: string;
  summary: string;
  body: string;
  location: string;
  startsAt: number;
  endsAt: number | null;
  status: 'draft' | 'published' | 'hidden' | 'deleted';
  featured: boolean;
  leadImage: LeadImageRow | null;
  tags: { slug: string; name: string }[];
  authors: AuthorRow[];
  updatedAt: number;
  notes: PublicNote[];
  modifiedAt: number | null;
  /** Slugs the event left once public (as ArticleRow.formerSlugs). */
  formerSlugs: string[];
}

/**
 * What listings show of an item (render_state.card_html is rendered from it).
 * `modifiedAt` is there only once a public note exists, so the cards of
 * items without notes stay as they were rendered before notes existed.
 */
export type ArticleCard = Pick<
  ArticleRow,
  'id' | 'slug' | 'title' | 'summary' | 'publishedAt' | 'section' | 'leadImage' | 'live' | 'liveUpdatedAt'
> & { authors: Byline[]; modifiedAt?: number };
export type EventCard = Pick<
  EventRow,
  'id' | 'slug' | 'title' | 'summary' | 'startsAt' | 'endsAt' | 'location' | 'leadImage'
>;

/** Articles by id (in id order); without the body for listings. */
export async function loadArticles(db: Db, ids: number[], options: { body: boolean }): Promise<ArticleRow[]> {
  if (ids.length === 0) return [];
  const rows = await db('articles')
    .leftJoin('sections', 'sections.id', 'articles.section_id')
    .leftJoin('media', 'media.sha256', 'articles.lead_image')
    .whereIn('articles.id', ids)
    .orderBy('articles.id')
    .select(
      'articles.id',
      'articles.slug',
      'articles.title',
      'articles.summary',
      'articles.status',
      'articles.featured',
      'articles.published_at',
      'articles.updated_at',
      'articles.live',
      'articles.live_updated_at',
      'sections.slug as section_slug',
      'sections.name as section_name',
      'articles.lead_image_alt',
      ...LEAD_IMAGE_COLUMNS,
      ...(options.body ? ['articles.body'] : []),
    );
  const entries = options.body
    ? await entriesOf(
        db,
        rows.filter((r) => r.live).map((r) => Number(r.id)),
      )
    : new Map<number, LiveEntryRow[]>();
  const [tags, notes, authors, former] = await Promise.all([
    tagsOf(db, 'article_tags', 'article_id', ids),
    notesOf(db, 'article', ids),
    authorsOf(db, 'article', ids),
    formerSlugsOf(db, 'article', ids),
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    slug: r.slug,
    title: r.title,
    summary: r.summary,
    body: r.body ?? '',
    status: r.status,
    featured: Boolean(r.featured),
    leadImage: leadImageOf(r),
    section: r.section_slug ? { slug: r.section_slug, name: r.section_name } : null,
    tags: tags.get(Number(r.id)) ?? [],
    authors: authors.get(Number(r.id)) ?? [],
    publishedAt: r.published_at == null ? null : Number(r.published_at),
    updatedAt: Number(r.updated_at),
    live: Boolean(r.live),
    liveUpdatedAt: r.live_updated_at == null ? null : Number(r.live_updated_at),
    entries: entries.get(Number(r.id)) ?? [],
    ...notesFields(notes.get(Number(r.id))),
    formerSlugs: former.get(Number(r.id)) ?? [],
  }));
}

/** The entries of live articles, newest first (posted, then number). */
async function entriesOf(db: Db, ids: number[]): Promise<Map<number, LiveEntryRow[]>> {
  const out = new Map<number, LiveEntryRow[]>();
  if (ids.length === 0) return out;
  const rows = await db('live_entries')
    .whereIn('article_id', ids)
    .orderBy([{ column: 'article_id' }, { column: 'posted_at', order: 'desc' }, { column: 'seq', order: 'desc' }])
    .select('id', 'article_id', 'seq', 'body', 'posted_at', 'updated_at');
  for (const r of rows) {
    const list = out.get(Number(r.article_id)) ?? [];
    list.push({
      id: Number(r.id),
      seq: Number(r.seq),
      body: String(r.body),
      postedAt: Number(r.posted_at),
      updatedAt: Number(r.updated_at),
    });
    out.set(Number(r.article_id), list);
  }
  return out;
}

export async function loadEvents(db: Db, ids: number[], options: { body: boolean }): Promise<EventRow[]> {
  if (ids.length === 0) return [];
  const rows = await db('events')
    .leftJoin('media', 'media.sha256', 'events.lead_image')
    .whereIn('events.id', ids)
    .orderBy('events.id')
    .select(
      ...[
        'id',
        'slug',
        'title',
        'summary',
        'location',
        'starts_at',
        'ends_at',
        'status',
        'featured',
        'updated_at',
        'lead_image_alt',
        ...(options.body ? ['body'] : []),
      ].map((c) => `events.${c}`),
      ...LEAD_IMAGE_COLUMNS,
    );
  const [tags, notes, authors, former] = await Promise.all([
    tagsOf(db, 'event_tags', 'event_id', ids),
    notesOf(db, 'event', ids),
    authorsOf(db, 'event', ids),
    formerSlugsOf(db, 'event', ids),
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    slug: r.slug,
    title: r.title,
    summary: r.summary,
    body: r.body ?? '',
    location: r.location,
    startsAt: Number(r.starts_at),
    endsAt: r.ends_at == null ? null : Number(r.ends_at),
    status: r.status,
    featured: Boolean(r.featured),
    leadImage: leadImageOf(r),
    tags: tags.get(Number(r.id)) ?? [],
    authors: authors.get(Number(r.id)) ?? [],
    updatedAt: Number(r.updated_at),
    ...notesFields(notes.get(Number(r.id))),
    formerSlugs: former.get(Number(r.id)) ?? [],
  }));
}

/** The authors of many items in byline order, in one read (item_authors, app/auth/people.ts). */
async function authorsOf(db: Db, topic: 'article' | 'event', ids: number[]): Promise<Map<number, AuthorRow[]>> {
  const rows = await db('item_authors')
    .join('users', 'users.id', 'item_authors.user_id')
    .where('item_authors.topic', topic)
    .whereIn('item_authors.item_id', ids)
    .orderBy([{ column: 'item_authors.item_id' }, { column: 'item_authors.position' }])
    .select('item_authors.item_id', 'users.name', 'users.display_name', 'users.slug', 'users.bio');
  const out = new Map<number, AuthorRow[]>();
  for (const r of rows) {
    const list = out.get(Number(r.item_id)) ?? [];
    list.push({ slug: String(r.slug), name: String(r.display_name ?? r.name), bio: String(r.bio ?? '') });
    out.set(Number(r.item_id), list);
  }
  return out;
}

/** Former slugs of many items (slug_redirects), in slug order, in one read. */
async function formerSlugsOf(db: Db, topic: 'article' | 'event', ids: number[]): Promise<Map<number, string[]>> {
  const rows = await db('slug_redirects')
    .where({ topic })
    .whereIn('item_id', ids)
    .orderBy(['item_id', 'slug'])
    .select('item_id', 'slug');
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(Number(r.item_id), [...(out.get(Number(r.item_id)) ?? []), String(r.slug)]);
  return out;
}

/** The kinds of note readers see; `desk` notes stay in the app. */
const PUBLIC_NOTE_KINDS = ['correction', 'update'];

/** Public notes of many items, oldest first, in one read. */
async function notesOf(db: Db, topic: 'article' | 'event', ids: number[]): Promise<Map<number, PublicNote[]>> {
  const rows = await db('item_notes')
    .where({ topic })
    .whereIn('item_id', ids)
    .whereIn('kind', PUBLIC_NOTE_KINDS)
    .orderBy(['noted_at', 'id'])
    .select('item_id', 'kind', 'body', 'noted_at');
  const out = new Map<number, PublicNote[]>();
  for (const r of rows) {
    const list = out.get(Number(r.item_id)) ?? [];
    list.push({ kind: r.kind as PublicNote['kind'], text: String(r.body), at: Number(r.noted_at) });
    out.set(Number(r.item_id), list);
  }
  return out;
}

function notesFields(notes: PublicNote[] = []): { notes: PublicNote[]; modifiedAt: number | null } {
  return { notes, modifiedAt: notes.length ? Math.max(...notes.map((n) => n.at)) : null };
}

const LEAD_IMAGE_COLUMNS = [
  'media.path as lead_path',
  'media.width as lead_width',
  'media.height as lead_height',
  'media.rendition_path as lead_rendition',
  'media.rendition_width as lead_rendition_width',
  'media.rendition_height as lead_rendition_height',
  'media.renditions as lead_renditions',
];

function leadImageOf(r: Record<string, unknown>): LeadImageRow | null {
  if (typeof r.lead_path !== 'string') return null;
  const n = (v: unknown) => (v == null ? null : Number(v));
  return {
    src: r.lead_path,
    alt: String(r.lead_image_alt ?? ''),
    width: n(r.lead_width),
    height: n(r.lead_height),
    sources: sourcesOf(r),
  };
}

const SOURCE_TYPES = ['image/avif', 'image/webp'];

/** The <source>s of a lead image, from its renditions; an upload from before them has its one 480 px WebP. */
function sourcesOf(r: Record<string, unknown>): LeadImageRow['sources'] {
  const renditions: { path: string; contentType: string; width: number }[] =
    typeof r.lead_renditions === 'string'
      ? JSON.parse(r.lead_renditions)
      : typeof r.lead_rendition === 'string' && r.lead_rendition_width != null
        ? [{ path: r.lead_rendition, contentType: 'image/webp', width: Number(r.lead_rendition_width) }]
        : [];
  return SOURCE_TYPES.map((type) => ({
    type,
    srcset: renditions
      .filter((x) => x.contentType === type)
      .sort((a, b) => a.width - b.width)
      .map((x) => `${x.path} ${x.width}w`)
      .join(', '),
  })).filter((s) => s.srcset !== '');
}

async function tagsOf(
  db: Db,
  table: string,
  column: string,
  ids: number[],
): Promise<Map<number, { slug: string; name: string }[]>> {
  // Two reads, not a join: with few tags MariaDB drove a join from `tags` and
  // walked every row of the link table (200,000 rows per batch at 100k articles).
  const links = await db(table).whereIn(column, ids).select(`${column} as owner`, 'tag_id');
  const tagIds = [...new Set(links.map((r) => Number(r.tag_id)))];
  const tags = new Map<number, { slug: string; name: string }>();
  if (tagIds.length)
    for (const t of await db('tags').whereIn('id', tagIds).select('id', 'slug', 'name'))
      tags.set(Number(t.id), { slug: t.slug, name: t.name });
  const out = new Map<number, { slug: string; name: string }[]>();
  for (const r of links) {
    const tag = tags.get(Number(r.tag_id));
    if (!tag) continue;
    const list = out.get(Number(r.owner)) ?? [];
    list.push(tag);
    out.set(Number(r.owner), list);
  }
  // By name, as the database's case-insensitive collation ordered them.
  for (const list of out.values()) list.sort((a, b) => byName.compare(a.name, b.name) || (a.slug < b.slug ? -1 : 1));
  return out;
}

const byName = new Intl.Collator('en', { sensitivity: 'accent' });
