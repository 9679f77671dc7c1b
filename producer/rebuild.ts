// Full rebuild: regenerates the whole site from the database in bounded
// memory. Items are streamed by id in batches (keyset pagination, never the
// whole table); then every public item page is checked against the database
// (a page whose item was hidden, unpublished, renamed or deleted becomes a
// 410 tombstone, and a deleted row leaves every listing); then every listing
// month (all its pages), root page, feed and sitemap.
// Progress is stored in rebuild_state in the same transaction as each
// batch's pages, so an interrupted rebuild resumes exactly where it stopped.
// Only pages whose bytes changed are journaled (change-journal.ts).
//
// Safe next to running producers: item pages are rendered outside the
// journal lock but written only if the item's row is still the one that was
// rendered (a newer save's job owns it otherwise); their listing rows are
// written under a lock on the item rows (saveListings). Index pages are rendered
// outside the lock too, in one read snapshot, and written only if no other
// writer journaled since that snapshot; otherwise they are rendered again
// under the lock, like a render job's.
import type { Knex } from 'knex';
import { dialectOf, type Database } from '../common/db/database';
import { ARCHIVE_PAGE_SIZE, articlePath, eventPath, IndexKey } from '../common/site-paths';
import type { PageRef } from './affected-pages';
import { insertRows } from './bulk-insert';
import { chunks, lockJournal, RenderedPage, writePages } from './change-journal';
import { articleState, entriesOf, eventState, serializeState, StoredState } from './item-state';
import {
  HTML,
  monthsAhead,
  PageContext,
  renderCard,
  renderItem,
  renderNotFound,
  renderRef,
  stylesheetPage,
} from './page-renderer';
import type { Renderer } from './renderer';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './site-queries';

export type RebuildPhase = 'articles' | 'events' | 'sweep' | 'buckets' | 'indexes' | 'site' | 'done';
const PHASES: RebuildPhase[] = ['articles', 'events', 'sweep', 'buckets', 'indexes', 'site', 'done'];

export interface RebuildProgress {
  phase: RebuildPhase;
  /** Pages rendered so far in this run (plus earlier runs when resumed). */
  pages: number;
  written: number;
  /** Estimated pages in the whole rebuild. */
  total: number;
  pagesPerSecond: number;
  etaSeconds: number;
}

export interface RebuildOptions {
  db: Database;
  renderer: Renderer;
  now?: () => number;
  batchSize?: number;
  /** Start over even if an unfinished rebuild could be resumed. */
  restart?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildResult {
  completed: boolean;
  resumed: boolean;
  pages: number;
  written: number;
  seconds: number;
  /** Time and pages per phase in this run (a resumed run has only the phases it ran). */
  phases: Partial<Record<Exclude<RebuildPhase, 'done'>, { seconds: number; pages: number }>>;
}

interface State {
  phase: RebuildPhase;
  cursor: string;
  pages: number;
  written: number;
}

/** Listing months per index batch, and the items they may hold together (their cards are read in one query). */
const INDEX_BATCH = 100;
const INDEX_BATCH_ITEMS = 5000;
const SWEEP_BATCH = 1000;

export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const { db, renderer, now = Date.now, signal } = options;
  const batchSize = options.batchSize ?? 500;
  const started = now();
  const existing = await db('rebuild_state').where({ id: 1 }).first();
  const resumed = !options.restart && existing !== undefined && existing.phase !== 'done';
  let state: State = resumed
    ? {
        phase: existing.phase,
        cursor: existing.cursor,
        pages: Number(existing.pages),
        written: Number(existing.written),
      }
    : { phase: 'articles', cursor: '0', pages: 0, written: 0 };
  if (!resumed) {
    await db('rebuild_state')
      .insert({
        id: 1,
        phase: state.phase,
        cursor: state.cursor,
        pages: 0,
        written: 0,
        started_at: started,
        updated_at: started,
      })
      .onConflict('id')
      .merge();
  }
  const pagesAtStart = state.pages;
  const count = async (table: string) => Number((await db(table).count({ n: '*' }))[0].n);
  let total = state.pages + (await count('articles')) + (await count('events')) + (await count('index_buckets')) + 16;

  const report = () => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const rate = (state.pages - pagesAtStart) / seconds;
    total = Math.max(total, state.pages);
    options.onProgress?.({
      phase: state.phase,
      pages: state.pages,
      written: state.written,
      total,
      pagesPerSecond: rate,
      etaSeconds: rate > 0 ? (total - state.pages) / rate : Infinity,
    });
  };

  /** Our own journal appends, [first, last] seq: whatever else appears in the journal came from another writer. */
  const ours: [number, number][] = [];

  /** The stylesheet every page links to rides in this run's first batch: no page is live before it. */
  let stylesheetPending = true;
  /** Writes one batch and the new rebuild state in one transaction. */
  const commit = async (
    next: Pick<State, 'phase' | 'cursor'>,
    work: (trx: Knex.Transaction, ctx: PageContext, head: number) => Promise<RenderedPage[]>,
  ) => {
    const at = now();
    const result = await db.transaction(async (trx) => {
      const lock = await lockJournal(trx);
      const pages = await work(trx, { db: trx, renderer, now: at }, lock.head);
      if (stylesheetPending) pages.unshift(stylesheetPage(renderer, at));
      const from = lock.head + 1;
      const written = await writePages(trx, lock, pages, at);
      const updated = {
        ...state,
        ...next,
        pages: state.pages + pages.length,
        written: state.written + written.written.length,
      };
      await trx('rebuild_state').where({ id: 1 }).update({
        phase: updated.phase,
        cursor: updated.cursor,
        pages: updated.pages,
        written: updated.written,
        updated_at: at,
      });
      return { updated, range: written.head === undefined ? undefined : ([from, written.head] as [number, number]) };
    });
    state = result.updated;
    stylesheetPending = false;
    if (result.range) ours.push(result.range);
    if (ours.length > 64) ours.shift();
    report();
  };

  type Prepared = { ids: number[]; rendered: Map<number, Listed & { page?: RenderedPage }> };
  let prefetched: { table: string; after: number; batch: Promise<Prepared> } | undefined;
  const prepareItems = async (table: 'articles' | 'events', after: number): Promise<Prepared> => {
    const ids = (await db(table).where('id', '>', after).orderBy('id').limit(batchSize).select('id')).map((r) =>
      Number(r.id),
    );
    const rows =
      table === 'articles' ? await loadArticles(db, ids, { body: true }) : await loadEvents(db, ids, { body: true });
    const topic = table === 'articles' ? 'article' : 'event';
    const rendered: Prepared['rendered'] = new Map();
    const ctx: PageContext = { db, renderer, now: now() };
    for (const row of rows) {
      const s = topic === 'article' ? articleState(row as ArticleRow) : eventState(row as EventRow);
      const page = s.visible ? await renderItem(ctx, topic, row, s.slug, true) : undefined;
      rendered.set(row.id, {
        state: s,
        json: serializeState(s),
        card: renderCard(renderer, s),
        page,
        updatedAt: row.updatedAt,
      });
    }
    await saveListings(db, table, rendered, now());
    return { ids, rendered };
  };

  /** The next batch of listing months after `cursor`, with the refs that render all their pages. */
  const indexBatch = async (cursor: string) => {
    const [afterKey, afterBucket] = cursor ? (JSON.parse(cursor) as [string, string]) : ['', ''];
    const rows = await db('index_buckets')
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
  };
  /** Renders refs in one read snapshot, outside the journal lock; `head` is the journal as that snapshot saw it. */
  const prepareIndexes = (refs: PageRef[]) =>
    db.transaction(async (trx) => {
      const head = Number((await trx('cluster_state').where({ id: 1 }).first('journal_head')).journal_head);
      const months = await monthsAhead(
        trx,
        refs.flatMap((r) => (r.kind === 'index-bucket' ? [{ key: r.key, bucket: r.bucket }] : [])),
      );
      return {
        head,
        pages: await renderAll({ db: trx, renderer, now: now(), titles: new Map(), latest: new Map(), months }, refs),
      };
    });
  let prefetchedIndexes:
    | {
        cursor: string;
        batch: Promise<
          Awaited<ReturnType<typeof indexBatch>> & { rendered?: Promise<{ head: number; pages: RenderedPage[] }> }
        >;
      }
    | undefined;
  const prefetchIndexes = (cursor: string) => {
    const batch = indexBatch(cursor).then((b) => ({ ...b, rendered: b.cursor ? prepareIndexes(b.refs) : undefined }));
    batch.then(
      (b) => b.rendered?.catch(() => undefined),
      () => undefined,
    );
    prefetchedIndexes = { cursor, batch };
  };

  const phases: RebuildResult['phases'] = {};
  let mark = { phase: state.phase, at: now(), pages: state.pages };
  /** Adds the time and pages since the last mark to the phase that was running. */
  const tally = () => {
    if (mark.phase !== 'done') {
      const sum = phases[mark.phase] ?? { seconds: 0, pages: 0 };
      phases[mark.phase] = {
        seconds: sum.seconds + (now() - mark.at) / 1000,
        pages: sum.pages + state.pages - mark.pages,
      };
    }
    mark = { phase: state.phase, at: now(), pages: state.pages };
  };
  try {
    while (state.phase !== 'done') {
      if (state.phase !== mark.phase) tally();
      if (signal?.aborted) break;
      const phase = state.phase;
      const nextPhase = PHASES[PHASES.indexOf(phase) + 1];
      if (phase === 'articles' || phase === 'events') {
        const table = phase;
        // The next batch is read and rendered while this one is written.
        const batch =
          prefetched?.table === table && prefetched.after === Number(state.cursor)
            ? await prefetched.batch
            : await prepareItems(table, Number(state.cursor));
        prefetched = undefined;
        if (batch.ids.length === 0) {
          await commit({ phase: nextPhase, cursor: nextPhase === 'events' ? '0' : '' }, async () => []);
          continue;
        }
        const lastId = batch.ids[batch.ids.length - 1];
        prefetched = { table, after: lastId, batch: prepareItems(table, lastId) };
        prefetched.batch.catch(() => undefined);
        const { ids, rendered } = batch;
        await commit({ phase, cursor: String(lastId) }, async (trx) => {
          // A save that landed after we read the row wins: its job renders it.
          const current = await trx(table).whereIn('id', ids).select('id', 'updated_at');
          // Hidden and unpublished items get their tombstone in the sweep, with deleted ones.
          return current
            .filter((r) => rendered.get(Number(r.id))?.updatedAt === Number(r.updated_at))
            .flatMap((r) => rendered.get(Number(r.id))?.page ?? []);
        });
        continue;
      }
      if (phase === 'sweep') {
        // Every public item page, in path order: a tombstone for each whose item is no longer visible under that slug.
        const rows = await db('pages')
          .where('path', '>', state.cursor)
          .where({ op: 'put', kind: 'article' })
          .orderBy('path')
          .limit(SWEEP_BATCH)
          .select('path');
        if (rows.length === 0) {
          await commit({ phase: nextPhase, cursor: '' }, async () => []);
          continue;
        }
        const paths = rows.map((r) => String(r.path));
        await commit({ phase, cursor: paths[paths.length - 1] }, (trx, ctx) => tombstonesFor(trx, ctx, paths));
        continue;
      }
      if (phase === 'buckets') {
        await commit({ phase: nextPhase, cursor: '' }, async (trx, ctx) => {
          // Rows deleted from the database leave every listing, like hidden ones.
          // Found through render_state (one row per item), not index_entries (one per listing): a fifth of the lookups.
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
            }
          }
          const before = await trx('index_buckets').select('index_key', 'bucket');
          await trx('index_buckets').delete();
          await trx.raw(
            'insert into index_buckets (index_key, bucket, items) select index_key, bucket, count(*) from index_entries group by index_key, bucket',
          );
          // A month (or a whole listing) that emptied is not in the new counts: its public pages become tombstones.
          const after = new Set(
            (await trx('index_buckets').select('index_key', 'bucket')).map((r) => `${r.index_key}\u0000${r.bucket}`),
          );
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
          return renderAll(ctx, refs);
        });
        // Months have a page per 50 items; a sitemap shard is one page; the featured list is on the home page.
        const perBucket = await db('index_buckets').select('index_key', 'items');
        const pagesOf = (r: { index_key: string; items: number }) =>
          r.index_key === 'featured'
            ? 0
            : r.index_key.startsWith('sitemap:')
              ? 1
              : Math.ceil(Number(r.items) / ARCHIVE_PAGE_SIZE);
        total = state.pages + perBucket.reduce((sum, r) => sum + pagesOf(r), 0) + 16;
        continue;
      }
      if (phase === 'indexes') {
        // Rendered in a read snapshot outside the lock while the previous batch is written.
        const ready = prefetchedIndexes?.cursor === state.cursor ? prefetchedIndexes.batch : undefined;
        if (!ready) prefetchIndexes(state.cursor);
        const batch = await prefetchedIndexes!.batch;
        prefetchedIndexes = undefined;
        if (!batch.cursor || !batch.rendered) {
          await commit({ phase: nextPhase, cursor: '' }, async () => []);
          continue;
        }
        prefetchIndexes(batch.cursor);
        const rendered = await batch.rendered;
        await commit({ phase, cursor: batch.cursor }, async (_trx, ctx, head) =>
          // Another writer journaled since the snapshot: what it changed may be on these pages, so render them again under the lock.
          onlyOurs(ours, rendered.head, head) ? rendered.pages : renderAll(ctx, batch.refs),
        );
        continue;
      }
      if (phase === 'site') {
        await commit({ phase: nextPhase, cursor: '' }, async (_trx, ctx) => {
          const refs: PageRef[] = [
            { kind: 'home' },
            { kind: 'index-root', key: 'all' },
            { kind: 'index-root', key: 'events' },
            { kind: 'sitemap-index' },
          ];
          return [...(await renderAll(ctx, refs)), renderNotFound(ctx)];
        });
      }
    }
  } finally {
    // Nothing of this run is left running when it returns or throws (an interrupted run stops here).
    await Promise.all(
      [prefetched?.batch, prefetchedIndexes?.batch.then((b) => b.rendered)].map((p) => p?.catch(() => undefined)),
    );
  }
  tally();
  return {
    completed: state.phase === 'done',
    resumed,
    pages: state.pages,
    written: state.written,
    seconds: (now() - started) / 1000,
    phases,
  };
}

/**
 * The batch's listing rows and cards (index_entries, render_state), in their
 * own transaction while the previous batch's pages are written, so the
 * database does both at once. The item rows are locked first: a save that
 * landed after they were read keeps its newer row (its job renders it), and
 * one that lands meanwhile waits, then its job writes after this. Committed
 * before the batch's cursor, so a resumed rebuild finds them already equal.
 */
/** An item as a rebuild batch read it: its state, and its listing card rendered from that. */
interface Listed {
  state: StoredState;
  json: string;
  card: string;
  updatedAt: number;
}

async function saveListings(
  db: Database,
  table: 'articles' | 'events',
  rendered: Map<number, Listed>,
  at: number,
): Promise<void> {
  if (rendered.size === 0) return;
  const topic = table === 'articles' ? 'article' : 'event';
  const mysql = dialectOf(db) === 'mysql';
  for (let attempt = 1; ; attempt++) {
    try {
      await db.transaction(async (trx) => {
        const q = trx(table)
          .whereIn('id', [...rendered.keys()])
          .select('id', 'updated_at');
        const current = mysql ? await q.forUpdate() : await q;
        const fresh = current
          .filter((r) => rendered.get(Number(r.id))?.updatedAt === Number(r.updated_at))
          .map((r) => Number(r.id));
        const stored = new Map(
          (
            await trx('render_state').where({ topic }).whereIn('item_id', fresh).select('item_id', 'state', 'card_html')
          ).map((r) => [Number(r.item_id), { state: String(r.state), card: r.card_html }]),
        );
        // Listing rows are rewritten only for items whose state moved; a card also when the templates changed.
        const moved = fresh.filter((id) => stored.get(id)?.state !== rendered.get(id)!.json);
        const changed = fresh.filter(
          (id) => stored.get(id)?.state !== rendered.get(id)!.json || stored.get(id)?.card !== rendered.get(id)!.card,
        );
        if (changed.length === 0) return;
        // Items never listed before (a first rebuild) have no rows to replace.
        const listed = moved.filter((id) => stored.has(id));
        if (listed.length) await trx('index_entries').where({ topic }).whereIn('item_id', listed).delete();
        await insertRows(
          trx,
          'index_entries',
          moved.flatMap((id) => entriesOf(rendered.get(id)!.state)),
        );
        // Keep the stored version: it is what keeps an older job from rendering over a newer one.
        const states = changed.map((id) => ({
          topic,
          item_id: id,
          state: rendered.get(id)!.json,
          card_html: rendered.get(id)!.card,
          version: 0,
          rendered_at: at,
        }));
        await insertRows(trx, 'render_state', states, {
          key: ['topic', 'item_id'],
          update: ['state', 'card_html', 'rendered_at'],
        });
      });
      return;
    } catch (error) {
      // A render job writing the same item's rows at the same moment: InnoDB picks one to retry.
      if ((error as { code?: string }).code !== 'ER_LOCK_DEADLOCK' || attempt >= 3) throw error;
    }
  }
}

/** True when every journal entry in (since, head] lies in one of `ours` (inclusive [first, last] seq ranges). */
export function onlyOurs(ours: [number, number][], since: number, head: number): boolean {
  let mine = 0;
  for (const [a, b] of ours) mine += Math.max(0, Math.min(b, head) - Math.max(a, since + 1) + 1);
  return mine === head - since;
}

function rootAndFeeds(key: IndexKey): PageRef[] {
  const refs: PageRef[] = [{ kind: 'index-root', key }];
  if (key !== 'events') refs.push({ kind: 'feed', key, format: 'rss' }, { kind: 'feed', key, format: 'atom' });
  return refs;
}

/** 410 tombstones for the item pages among `paths` whose item is not visible (hidden, unpublished, renamed or deleted). */
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
  const gone = paths.filter((p) => !visible.has(p) && (slugOf('article', p) ?? slugOf('event', p)) !== undefined);
  if (gone.length === 0) return [];
  const body = Buffer.from(ctx.renderer.render('gone.njk', { what: 'article' }));
  return gone.map((path) => ({ path, kind: 'article', op: 'gone', body, contentType: HTML, lastModified: ctx.now }));
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
