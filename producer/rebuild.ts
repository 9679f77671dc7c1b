// Full rebuild: regenerates the whole site from the database in bounded
// memory. Items are streamed by id in batches (keyset pagination, never the
// whole table), then every listing bucket, root page, feed and sitemap.
// Progress is stored in rebuild_state in the same transaction as each
// batch's pages, so an interrupted rebuild resumes exactly where it stopped.
// Only pages whose bytes changed are journaled (change-journal.ts).
//
// Safe next to running producers: item pages are rendered outside the
// journal lock but written only if the item's row is still the one that was
// rendered (a newer save's job owns it otherwise); index pages are rendered
// under the lock, like a render job's.
import type { Knex } from 'knex';
import type { Database } from '../common/database';
import type { IndexKey } from '../common/site-paths';
import type { PageRef } from './affected-pages';
import { lockJournal, RenderedPage, writePages } from './change-journal';
import { articleState, entriesOf, eventState, serializeState, StoredState } from './item-state';
import { PageContext, renderItem, renderNotFound, renderRef } from './page-renderer';
import type { Renderer } from './renderer';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './site-queries';

export type RebuildPhase = 'articles' | 'events' | 'buckets' | 'indexes' | 'site' | 'done';
const PHASES: RebuildPhase[] = ['articles', 'events', 'buckets', 'indexes', 'site', 'done'];

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
}

interface State {
  phase: RebuildPhase;
  cursor: string;
  pages: number;
  written: number;
}

const INDEX_BATCH = 25;

export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const { db, renderer, now = Date.now, signal } = options;
  const batchSize = options.batchSize ?? 500;
  const started = now();
  const existing = await db('rebuild_state').where({ id: 1 }).first();
  const resumed = !options.restart && existing !== undefined && existing.phase !== 'done';
  let state: State = resumed
    ? { phase: existing.phase, cursor: existing.cursor, pages: Number(existing.pages), written: Number(existing.written) }
    : { phase: 'articles', cursor: '0', pages: 0, written: 0 };
  if (!resumed) {
    await db('rebuild_state').insert({ id: 1, phase: state.phase, cursor: state.cursor, pages: 0, written: 0, started_at: started, updated_at: started }).onConflict('id').merge();
  }
  const pagesAtStart = state.pages;
  const count = async (table: string) => Number((await db(table).count({ n: '*' }))[0].n);
  let total = state.pages + (await count('articles')) + (await count('events')) + (await count('index_buckets')) + 16;

  const report = () => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const rate = (state.pages - pagesAtStart) / seconds;
    total = Math.max(total, state.pages);
    options.onProgress?.({ phase: state.phase, pages: state.pages, written: state.written, total, pagesPerSecond: rate, etaSeconds: rate > 0 ? (total - state.pages) / rate : Infinity });
  };

  /** Writes one batch and the new rebuild state in one transaction. */
  const commit = async (next: Pick<State, 'phase' | 'cursor'>, work: (trx: Knex.Transaction, ctx: PageContext) => Promise<RenderedPage[]>) => {
    const at = now();
    const result = await db.transaction(async (trx) => {
      const lock = await lockJournal(trx);
      const pages = await work(trx, { db: trx, renderer, now: at });
      const written = await writePages(trx, lock, pages, at);
      const updated = { ...state, ...next, pages: state.pages + pages.length, written: state.written + written.written.length };
      await trx('rebuild_state').where({ id: 1 }).update({ phase: updated.phase, cursor: updated.cursor, pages: updated.pages, written: updated.written, updated_at: at });
      return updated;
    });
    state = result;
    report();
  };

  type Prepared = { ids: number[]; rendered: Map<number, { state: StoredState; json: string; page?: RenderedPage; updatedAt: number }> };
  let prefetched: { table: string; after: number; batch: Promise<Prepared> } | undefined;
  const prepareItems = async (table: 'articles' | 'events', after: number): Promise<Prepared> => {
    const ids = (await db(table).where('id', '>', after).orderBy('id').limit(batchSize).select('id')).map((r) => Number(r.id));
    const rows = table === 'articles' ? await loadArticles(db, ids, { body: true }) : await loadEvents(db, ids, { body: true });
    const topic = table === 'articles' ? 'article' : 'event';
    const rendered: Prepared['rendered'] = new Map();
    const ctx: PageContext = { db, renderer, now: now() };
    for (const row of rows) {
      const s = topic === 'article' ? articleState(row as ArticleRow) : eventState(row as EventRow);
      const page = s.visible ? await renderItem(ctx, topic, row, s.slug, true) : undefined;
      rendered.set(row.id, { state: s, json: serializeState(s), page, updatedAt: row.updatedAt });
    }
    return { ids, rendered };
  };

  while (state.phase !== 'done') {
    if (signal?.aborted) break;
    const phase = state.phase;
    const nextPhase = PHASES[PHASES.indexOf(phase) + 1];
    if (phase === 'articles' || phase === 'events') {
      const table = phase;
      const topic = phase === 'articles' ? 'article' : 'event';
      // The next batch is read and rendered while this one is written.
      const batch = prefetched?.table === table && prefetched.after === Number(state.cursor) ? await prefetched.batch : await prepareItems(table, Number(state.cursor));
      prefetched = undefined;
      if (batch.ids.length === 0) {
        await commit({ phase: nextPhase, cursor: nextPhase === 'events' ? '0' : '' }, async () => []);
        continue;
      }
      const lastId = batch.ids[batch.ids.length - 1];
      prefetched = { table, after: lastId, batch: prepareItems(table, lastId) };
      prefetched.batch.catch(() => undefined);
      const { ids, rendered } = batch;
      await commit({ phase, cursor: String(lastId) }, async (trx, tctx) => {
        // A save that landed after we read the row wins: its job renders it.
        const current = await trx(table).whereIn('id', ids).select('id', 'updated_at');
        const fresh = current.filter((r) => rendered.get(Number(r.id))?.updatedAt === Number(r.updated_at)).map((r) => Number(r.id));
        const stored = new Map(
          (await trx('render_state').where({ topic }).whereIn('item_id', fresh).select('item_id', 'state')).map((r) => [Number(r.item_id), String(r.state)]),
        );
        const pages: RenderedPage[] = [];
        const entries: ReturnType<typeof entriesOf> = [];
        const states: Record<string, unknown>[] = [];
        const changed: number[] = [];
        for (const id of fresh) {
          const item = rendered.get(id)!;
          if (item.page) pages.push(item.page);
          else {
            const tombstone = await renderItem(tctx, topic, undefined, item.state.slug, false);
            if (tombstone) pages.push(tombstone);
          }
          // Listing rows are rewritten only for items whose state moved.
          if (stored.get(id) === item.json) continue;
          changed.push(id);
          entries.push(...entriesOf(item.state));
          states.push({ topic, item_id: id, state: item.json, version: 0, rendered_at: tctx.now });
        }
        if (changed.length) {
          await trx('index_entries').where({ topic }).whereIn('item_id', changed).delete();
          for (let i = 0; i < entries.length; i += 400) await trx('index_entries').insert(entries.slice(i, i + 400));
          // Keep the stored version: it is what keeps an older job from rendering over a newer one.
          await trx('render_state').insert(states).onConflict(['topic', 'item_id']).merge(['state', 'rendered_at']);
        }
        return pages;
      });
      continue;
    }
    if (phase === 'buckets') {
      await commit({ phase: nextPhase, cursor: '' }, async (trx) => {
        await trx('index_buckets').delete();
        await trx.raw('insert into index_buckets (index_key, bucket, items) select index_key, bucket, count(*) from index_entries group by index_key, bucket');
        return [];
      });
      total = state.pages + (await count('index_buckets')) + 16;
      continue;
    }
    if (phase === 'indexes') {
      const [afterKey, afterBucket] = state.cursor ? (JSON.parse(state.cursor) as [string, string]) : ['', ''];
      const rows = await db('index_buckets')
        .where((q) => q.where('index_key', '>', afterKey).orWhere((q2) => q2.where('index_key', afterKey).where('bucket', '>', afterBucket)))
        .orderBy([{ column: 'index_key' }, { column: 'bucket' }])
        .limit(INDEX_BATCH + 1)
        .select('index_key', 'bucket');
      if (rows.length === 0) {
        await commit({ phase: nextPhase, cursor: '' }, async () => []);
        continue;
      }
      const batch = rows.slice(0, INDEX_BATCH);
      const following = rows[INDEX_BATCH] as { index_key: string } | undefined;
      const last = batch[batch.length - 1];
      await commit({ phase, cursor: JSON.stringify([last.index_key, last.bucket]) }, async (_trx, ctx) => {
        const refs: PageRef[] = [];
        batch.forEach((row, i) => {
          const key = String(row.index_key);
          const bucket = String(row.bucket);
          if (key === 'featured') return;
          if (key.startsWith('sitemap:')) {
            refs.push({ kind: 'sitemap-shard', topic: key.slice('sitemap:'.length) as 'article' | 'event', shard: Number(bucket) });
            return;
          }
          refs.push({ kind: 'index-bucket', key: key as IndexKey, bucket });
          const keyEnds = i + 1 < batch.length ? batch[i + 1].index_key !== key : following?.index_key !== key;
          if (keyEnds) {
            refs.push({ kind: 'index-root', key: key as IndexKey });
            if (key !== 'events') refs.push({ kind: 'feed', key: key as IndexKey, format: 'rss' }, { kind: 'feed', key: key as IndexKey, format: 'atom' });
          }
        });
        return renderAll(ctx, refs);
      });
      continue;
    }
    if (phase === 'site') {
      await commit({ phase: nextPhase, cursor: '' }, async (_trx, ctx) => {
        const refs: PageRef[] = [{ kind: 'home' }, { kind: 'index-root', key: 'all' }, { kind: 'index-root', key: 'events' }, { kind: 'sitemap-index' }];
        return [...(await renderAll(ctx, refs)), renderNotFound(ctx)];
      });
    }
  }
  return { completed: state.phase === 'done', resumed, pages: state.pages, written: state.written, seconds: (now() - started) / 1000 };
}

async function renderAll(ctx: PageContext, refs: PageRef[]): Promise<RenderedPage[]> {
  const pages: RenderedPage[] = [];
  for (const ref of refs) {
    const page = await renderRef(ctx, ref);
    if (page) pages.push(page);
  }
  return pages;
}

