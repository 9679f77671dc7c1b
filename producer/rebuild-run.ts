// The state of one full rebuild and the one way it moves: a batch of pages
// and the new resumable position written in one transaction (commitBatch).
// The phases (rebuild-items.ts, rebuild-listings.ts) read and change this
// object; rebuild.ts walks them in order.
import type { Knex } from 'knex';
import type { Database } from '../common/db/database';
import type { PageRef } from './affected-pages';
import { lockJournal, RenderedPage, takeRenderClock, writePages } from './change-journal';
import type { SearchDoc } from './search-index';
import type { StoredState } from './item-state';
import { PageContext, siteFilePages } from './page-renderer';
import type { Renderer } from './renderer';

export type RebuildPhase = 'articles' | 'events' | 'sweep' | 'buckets' | 'indexes' | 'site' | 'search' | 'done';

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

/** Where a rebuild stands: a phase and how far into it (its meaning is the phase's). */
export interface Position {
  phase: RebuildPhase;
  cursor: string;
}

/** What rebuild_state holds: the position, and the pages rendered and journaled to reach it. */
export interface State extends Position {
  pages: number;
  written: number;
}

/** An item as a rebuild batch read it: its state, and its listing card rendered from that. */
export interface Listed {
  state: StoredState;
  json: string;
  card: string;
  updatedAt: number;
  /** The item as the search index sees it (producer/search-index.ts). */
  search: SearchDoc;
}

/** A batch of items read and rendered ahead of its commit. */
export interface PreparedItems {
  ids: number[];
  /** The render clock the batch's listing rows were saved at: its pages' clock. */
  clock: number;
  rendered: Map<
    number,
    Listed & {
      page?: RenderedPage;
      /** A visible item's other pages: a live article's numbered pages and JSON, the redirects at its former slugs. */
      livePages?: RenderedPage[];
    }
  >;
}

/** A batch of listing months read ahead: `cursor` is undefined when none are left. */
export interface PreparedIndexes {
  cursor: string | undefined;
  refs: PageRef[];
  /** The pages, rendered in one read snapshot (carrying its render clock); `head` is the journal as that snapshot saw it. */
  rendered?: Promise<{ head: number; pages: RenderedPage[] }>;
}

export interface RebuildRun {
  readonly db: Database;
  readonly renderer: Renderer;
  readonly now: () => number;
  readonly batchSize: number;
  readonly started: number;
  readonly pagesAtStart: number;
  state: State;
  /** Estimated pages in the whole rebuild (refined once the listing months are counted). */
  total: number;
  /** Our own journal appends, [first, last] seq: whatever else appears in the journal came from another writer. */
  ours: [number, number][];
  /** The stylesheet and other site files every page links to ride in this run's first batch: no page is live before them. */
  stylesheetPending: boolean;
  /** The next batch, read while this one is written; settled before rebuild() returns. */
  readAhead: {
    items?: { table: string; after: number; batch: Promise<PreparedItems> };
    indexes?: { cursor: string; batch: Promise<PreparedIndexes> };
  };
  onProgress?: (progress: RebuildProgress) => void;
}

/** A batch's pages, rendered in the commit's transaction with the journal locked; `head` is the journal head. */
export type BatchWork = (trx: Knex.Transaction, ctx: PageContext, head: number) => Promise<RenderedPage[]>;

/**
 * Writes one batch and the new rebuild state in one transaction, so an
 * interrupted run resumes exactly after it. The batch takes a render clock
 * (producer/change-journal.ts takeRenderClock): what it renders under the
 * lock is newer than any group's render from an earlier snapshot, which can
 * then no longer replace it; pages rendered ahead carry their own, older clock.
 */
export async function commitBatch(run: RebuildRun, next: Position, work: BatchWork): Promise<void> {
  const { db, renderer } = run;
  const at = run.now();
  const result = await db.transaction(async (trx) => {
    const lock = await lockJournal(trx);
    const clock = await takeRenderClock(trx);
    const pages = (await work(trx, { db: trx, renderer, now: at }, lock.head)).map((p) =>
      p.clock === undefined ? { ...p, clock } : p,
    );
    if (run.stylesheetPending) pages.unshift(...siteFilePages(renderer, at));
    const from = lock.head + 1;
    const written = await writePages(trx, lock, pages, at);
    const updated: State = {
      ...next,
      pages: run.state.pages + pages.length,
      written: run.state.written + written.written.length,
    };
    await trx('rebuild_state')
      .where({ id: 1 })
      .update({ ...updated, updated_at: at });
    return { updated, range: written.head === undefined ? undefined : ([from, written.head] as [number, number]) };
  });
  run.state = result.updated;
  run.stylesheetPending = false;
  if (result.range) run.ours.push(result.range);
  if (run.ours.length > 64) run.ours.shift();
  reportProgress(run);
}

/** Moves to `next` with no pages: a phase that has nothing (left) to do. */
export const advance = (run: RebuildRun, next: Position): Promise<void> => commitBatch(run, next, async () => []);

export function reportProgress(run: RebuildRun): void {
  const { state } = run;
  const seconds = Math.max(0.001, (run.now() - run.started) / 1000);
  const rate = (state.pages - run.pagesAtStart) / seconds;
  run.total = Math.max(run.total, state.pages);
  run.onProgress?.({
    phase: state.phase,
    pages: state.pages,
    written: state.written,
    total: run.total,
    pagesPerSecond: rate,
    etaSeconds: rate > 0 ? (run.total - state.pages) / rate : Infinity,
  });
}

/** The state to continue from: the stored one when an unfinished rebuild can be resumed, else `first` (stored now). */
export async function openState(
  db: Database,
  first: Position,
  options: { restart?: boolean; at: number },
): Promise<{ state: State; resumed: boolean }> {
  const existing = await db('rebuild_state').where({ id: 1 }).first();
  if (!options.restart && existing !== undefined && existing.phase !== 'done') {
    const state = {
      phase: existing.phase,
      cursor: existing.cursor,
      pages: Number(existing.pages),
      written: Number(existing.written),
    };
    return { state, resumed: true };
  }
  const state: State = { ...first, pages: 0, written: 0 };
  await db('rebuild_state')
    .insert({ id: 1, ...state, started_at: options.at, updated_at: options.at })
    .onConflict('id')
    .merge();
  return { state, resumed: false };
}
