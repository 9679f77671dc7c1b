// The rebuild's phases after the items: the sweep (every public item page is
// checked against the database; one whose item was hidden, unpublished,
// renamed or deleted becomes a 410 tombstone), the bucket recount (a deleted
// row leaves every listing), every listing month (all its pages) with its
// root page and feeds, and the site-wide pages.
//
// Index pages are rendered outside the journal lock, in one read snapshot,
// and written only if no other writer journaled since that snapshot;
// otherwise they are rendered again under the lock, like a render job's.
import type { Knex } from 'knex';
import { docKey } from '../common/search-index-format';
import { ARCHIVE_PAGE_SIZE, articlePath, eventPath, IndexKey } from '../common/site-paths';
import type { PageRef } from './affected-pages';
import { chunks, RenderedPage, renderClock } from './change-journal';
import { mirrorsPage } from './mirror-list-page';
import { renderRedirect } from './redirect-pages';
import { HTML, monthsAhead, PageContext, renderRef } from './page-renderer';
import { view, withChrome } from './page-view';
import { advance, commitBatch, Position, PreparedIndexes, RebuildRun } from './rebuild-run';
import { indexDocs, type SearchDoc } from './search-index';

/** Listing months per index batch, and the items they may hold together (their cards are read in one query). */
const INDEX_BATCH = 100;
const INDEX_BATCH_ITEMS = 5000;
const SWEEP_BATCH = 1000;

/** Every public item page, in path order (the cursor): a tombstone for each whose item is no longer visible under that slug. */
export async function sweepBatch(run: RebuildRun, next: Position): Promise<void> {
  const rows = await run
    .db('pages')
    .where('path', '>', run.state.cursor)
    .where({ op: 'put', kind: 'article' })
    .orderBy('path')
    .limit(SWEEP_BATCH)
    .select('path');
  if (rows.length === 0) return advance(run, next);
  const paths = rows.map((r) => String(r.path));
  await commitBatch(run, { phase: run.state.phase, cursor: paths[paths.length - 1] }, (trx, ctx) =>
    tombstonesFor(trx, ctx, paths),
  );
}

/** Recounts every listing month from index_entries; the months (and listings) that emptied become tombstones. */
export async function recountBuckets(run: RebuildRun, next: Position): Promise<void> {
  await commitBatch(run, next, async (trx, ctx) => {
    await forgetDeletedItems(trx, ctx.now);
    const before = await trx('index_buckets').select('index_key', 'bucket');
    await trx('index_buckets').delete();
    await trx.raw(
      'insert into index_buckets (index_key, bucket, items) select index_key, bucket, count(*) from index_entries group by index_key, bucket',
    );
    const after = await trx('index_buckets').select('index_key', 'bucket');
    return renderAll(ctx, emptiedPages(before, after));
  });
  // Months have a page per 50 items; a sitemap shard is one page; the featured list is on the home page.
  const perBucket = await run.db('index_buckets').select('index_key', 'items');
  const pagesOf = (r: { index_key: string; items: number }) =>
    r.index_key === 'featured'
      ? 0
      : r.index_key.startsWith('sitemap:')
        ? 1
        : Math.ceil(Number(r.items) / ARCHIVE_PAGE_SIZE);
  run.total = run.state.pages + perBucket.reduce((sum, r) => sum + pagesOf(r), 0) + 16;
}

/**
 * Rows deleted from the database leave every listing, like hidden ones.
 * Found through render_state (one row per item), not index_entries (one per listing): a fifth of the lookups.
 */
async function forgetDeletedItems(trx: Knex.Transaction, now: number): Promise<void> {
  const search: SearchDoc[] = [];
  for (const [topic, table] of [
    ['article', 'articles'],
    ['event', 'events'],
  ] as const) {
    const gone = await trx('render_state')
      .where({ topic })
      .whereNotExists((q) => q.select(trx.raw('1')).from(table).whereRaw(`${table}.id = render_state.item_id`))
      .select('item_id');
    for (const chunk of chunks(
      gone.map((r) => Number(r.item_id)),
      500,
    )) {
      for (const derived of ['index_entries', 'render_state'])
        await trx(derived).where({ topic }).whereIn('item_id', chunk).delete();
      search.push(...chunk.map((id) => ({ doc: docKey(topic, id) })));
    }
  }
  // Out of the search tables; the rebuild's last phase renders the files (producer/rebuild-search.ts).
  await indexDocs(trx, search, now, { files: false });
}

type BucketRow = { index_key: string; bucket: string };

/** A month (or a whole listing) that is not in the new counts: its public pages, which become tombstones. */
function emptiedPages(before: BucketRow[], afterRows: BucketRow[]): PageRef[] {
  const after = new Set(afterRows.map((r) => `${r.index_key}\u0000${r.bucket}`));
  const keysAfter = new Set([...after].map((k) => k.slice(0, k.indexOf('\u0000'))));
  const refs: PageRef[] = [];
  const emptiedKeys = new Set<string>();
  for (const r of before) {
    const key = String(r.index_key);
    if (after.has(`${key}\u0000${r.bucket}`) || key === 'featured') continue;
    if (key.startsWith('sitemap:'))
      refs.push({
        kind: 'sitemap-shard',
        topic: key.slice('sitemap:'.length) as 'article' | 'event',
        shard: Number(r.bucket),
      });
    else refs.push({ kind: 'index-bucket', key: key as IndexKey, bucket: String(r.bucket), tail: true });
    if (!keysAfter.has(key) && !key.startsWith('sitemap:')) emptiedKeys.add(key);
  }
  for (const key of emptiedKeys) refs.push(...rootAndFeeds(key as IndexKey));
  return refs;
}

/** One batch of listing months after the cursor, rendered in a read snapshot outside the lock while the previous batch is written. */
export async function indexBatch(run: RebuildRun, next: Position): Promise<void> {
  const ready = run.readAhead.indexes?.cursor === run.state.cursor ? run.readAhead.indexes.batch : undefined;
  const batch = await (ready ?? readIndexesAhead(run, run.state.cursor));
  run.readAhead.indexes = undefined;
  if (!batch.cursor || !batch.rendered) return advance(run, next);
  readIndexesAhead(run, batch.cursor);
  const rendered = await batch.rendered;
  await commitBatch(run, { phase: run.state.phase, cursor: batch.cursor }, async (_trx, ctx, head) =>
    // Another writer journaled since the snapshot: what it changed may be on these pages, so render them again under the lock.
    onlyOurs(run.ours, rendered.head, head) ? rendered.pages : renderAll(ctx, batch.refs),
  );
}

/** Starts reading and rendering the batch after `cursor`; it waits in run.readAhead. */
function readIndexesAhead(run: RebuildRun, cursor: string): Promise<PreparedIndexes> {
  const batch = listingMonths(run, cursor).then((b) => ({
    ...b,
    rendered: b.cursor ? renderInSnapshot(run, b.refs) : undefined,
  }));
  batch.then(
    (b) => b.rendered?.catch(() => undefined),
    () => undefined,
  );
  run.readAhead.indexes = { cursor, batch };
  return batch;
}

/** The next batch of listing months after `cursor`, with the refs that render all their pages. */
async function listingMonths(run: RebuildRun, cursor: string): Promise<Omit<PreparedIndexes, 'rendered'>> {
  const [afterKey, afterBucket] = cursor ? (JSON.parse(cursor) as [string, string]) : ['', ''];
  const rows = await run
    .db('index_buckets')
    .where((q) =>
      q
        .where('index_key', '>', afterKey)
        .orWhere((q2) => q2.where('index_key', afterKey).where('bucket', '>', afterBucket)),
    )
    .orderBy([{ column: 'index_key' }, { column: 'bucket' }])
    .limit(INDEX_BATCH + 1)
    .select('index_key', 'bucket', 'items');
  let length = 0;
  for (
    let items = 0;
    length < Math.min(rows.length, INDEX_BATCH) &&
    (length === 0 || items + Number(rows[length].items) <= INDEX_BATCH_ITEMS);
    length++
  )
    items += Number(rows[length].items);
  const batch = rows.slice(0, length);
  const following = rows[length] as { index_key: string } | undefined;
  const refs: PageRef[] = [];
  batch.forEach((row, i) => {
    const key = String(row.index_key);
    const bucket = String(row.bucket);
    if (key === 'featured') return;
    if (key.startsWith('sitemap:')) {
      refs.push({
        kind: 'sitemap-shard',
        topic: key.slice('sitemap:'.length) as 'article' | 'event',
        shard: Number(bucket),
      });
      return;
    }
    refs.push({ kind: 'index-bucket', key: key as IndexKey, bucket, tail: true });
    const keyEnds = i + 1 < batch.length ? batch[i + 1].index_key !== key : following?.index_key !== key;
    if (keyEnds) refs.push(...rootAndFeeds(key as IndexKey));
  });
  const last = batch[batch.length - 1];
  return { cursor: last ? JSON.stringify([last.index_key, last.bucket]) : undefined, refs };
}

/** Renders refs in one read snapshot, outside the journal lock; `head` is the journal as that snapshot saw it. */
function renderInSnapshot(run: RebuildRun, refs: PageRef[]): Promise<{ head: number; pages: RenderedPage[] }> {
  return run.db.transaction(async (trx) => {
    const head = Number((await trx('cluster_state').where({ id: 1 }).first('journal_head')).journal_head);
    // The snapshot's clock: a group that lists after it renders these pages again at a later one.
    const clock = await renderClock(trx);
    const months = await monthsAhead(
      trx,
      refs.flatMap((r) => (r.kind === 'index-bucket' ? [{ key: r.key, bucket: r.bucket }] : [])),
    );
    const ctx = { db: trx, renderer: run.renderer, now: run.now(), titles: new Map(), latest: new Map(), months };
    return { head, pages: (await renderAll(ctx, refs)).map((p) => ({ ...p, clock })) };
  });
}

/** The home page, the listing roots, the section, tag and author indexes, the authors' sitemap, the sitemap index, the 404 page and the mirror list page. */
export async function sitePages(run: RebuildRun, next: Position): Promise<void> {
  await commitBatch(run, next, async (trx, ctx) => {
    const refs: PageRef[] = [
      { kind: 'home' },
      { kind: 'index-root', key: 'all' },
      { kind: 'index-root', key: 'events' },
      { kind: 'site-index', which: 'sections' },
      { kind: 'site-index', which: 'tags' },
      { kind: 'site-index', which: 'authors' },
      { kind: 'authors-sitemap' },
      { kind: 'sitemap-index' },
      { kind: 'not-found' },
      { kind: 'search' },
      { kind: 'news-sitemap' },
    ];
    return [...(await renderAll(ctx, refs)), await mirrorsPage(trx, ctx.renderer, ctx.now)];
  });
}

/** True when every journal entry in (since, head] lies in one of `ours` (inclusive [first, last] seq ranges). */
export function onlyOurs(ours: [number, number][], since: number, head: number): boolean {
  let mine = 0;
  for (const [a, b] of ours) mine += Math.max(0, Math.min(b, head) - Math.max(a, since + 1) + 1);
  return mine === head - since;
}

function rootAndFeeds(key: IndexKey): PageRef[] {
  const refs: PageRef[] = [{ kind: 'index-root', key }];
  // The calendar and author pages have no feeds.
  if (key !== 'events' && !key.startsWith('author:'))
    refs.push({ kind: 'feed', key, format: 'rss' }, { kind: 'feed', key, format: 'atom' });
  return refs;
}

/**
 * 410 tombstones for the item pages among `paths` whose item is not visible
 * (hidden, unpublished, renamed or deleted); the redirect at a visible item's
 * former slug is rendered again instead, to the item's current page.
 */
async function tombstonesFor(db: Knex.Transaction, ctx: PageContext, paths: string[]): Promise<RenderedPage[]> {
  const visible = new Set<string>();
  for (const [topic, table] of [
    ['article', 'articles'],
    ['event', 'events'],
  ] as const) {
    const slugs = paths.map((p) => slugOf(topic, p)).filter((s): s is string => s !== undefined);
    if (slugs.length === 0) continue;
    const q = db(table).whereIn('slug', slugs).where('status', 'published');
    if (topic === 'article') q.whereNotNull('published_at');
    for (const r of await q.select('slug'))
      visible.add(topic === 'article' ? articlePath(String(r.slug)) : eventPath(String(r.slug)));
  }
  const redirects = await redirectsAmong(db, ctx, paths);
  const gone = paths.filter(
    (p) => !visible.has(p) && !redirects.has(p) && (slugOf('article', p) ?? slugOf('event', p)) !== undefined,
  );
  const pages = [...redirects.values()];
  if (gone.length === 0) return pages;
  const body = Buffer.from(view(await withChrome(ctx), 'gone.njk', { what: 'article' }));
  return [
    ...pages,
    ...gone.map((path) => ({
      path,
      kind: 'article' as const,
      op: 'gone' as const,
      body,
      contentType: HTML,
      lastModified: ctx.now,
    })),
  ];
}

/** The redirect pages among `paths`: former slugs of visible items (app/content/slug-redirects.ts), rendered to their current page. */
async function redirectsAmong(
  db: Knex.Transaction,
  ctx: PageContext,
  paths: string[],
): Promise<Map<string, RenderedPage>> {
  const out = new Map<string, RenderedPage>();
  for (const [topic, table] of [
    ['article', 'articles'],
    ['event', 'events'],
  ] as const) {
    const slugs = paths.map((p) => slugOf(topic, p)).filter((s): s is string => s !== undefined);
    if (slugs.length === 0) continue;
    const q = db('slug_redirects')
      .join(table, `${table}.id`, 'slug_redirects.item_id')
      .where('slug_redirects.topic', topic)
      .whereIn('slug_redirects.slug', slugs)
      .where(`${table}.status`, 'published');
    if (topic === 'article') q.whereNotNull('articles.published_at');
    for (const r of await q.select('slug_redirects.slug as slug', `${table}.slug as current`, `${table}.id as id`)) {
      const ref = {
        kind: 'redirect',
        topic,
        id: Number(r.id),
        slug: String(r.slug),
        to: String(r.current),
        visible: true,
      } as const;
      const page = await renderRedirect(await withChrome(ctx), ref);
      out.set(page.path, page);
    }
  }
  return out;
}

function slugOf(topic: 'article' | 'event', path: string): string | undefined {
  const prefix = topic === 'article' ? articlePath('') : eventPath('');
  return path.startsWith(prefix) && path.length > prefix.length && !path.includes('/', prefix.length)
    ? path.slice(prefix.length)
    : undefined;
}

async function renderAll(ctx: PageContext, refs: PageRef[]): Promise<RenderedPage[]> {
  const pages: RenderedPage[] = [];
  for (const ref of refs) pages.push(...(await renderRef(ctx, ref)));
  return pages;
}
