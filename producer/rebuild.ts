// Full rebuild: regenerates the whole site from the database in bounded
// memory, phase by phase: every item page (rebuild-items.ts), then a sweep of
// the public item pages whose item is gone, the listing counts, every
// listing month with its root and feeds, and the site-wide pages
// (rebuild-listings.ts).
// Progress is stored in rebuild_state in the same transaction as each
// batch's pages, so an interrupted rebuild resumes exactly where it stopped.
// Only pages whose bytes changed are journaled (change-journal.ts).
import type { Database } from '../common/db/database';
import type { Renderer } from './renderer';
import { itemBatch } from './rebuild-items';
import { searchBatch } from './rebuild-search';
import { indexBatch, recountBuckets, sitePages, sweepBatch } from './rebuild-listings';
import { openState, Position, RebuildPhase, RebuildProgress, RebuildRun } from './rebuild-run';

export type { RebuildPhase, RebuildProgress } from './rebuild-run';

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

type ActivePhase = Exclude<RebuildPhase, 'done'>;

export interface RebuildResult {
  completed: boolean;
  resumed: boolean;
  pages: number;
  written: number;
  seconds: number;
  /** Time and pages per phase in this run (a resumed run has only the phases it ran). */
  phases: Partial<Record<ActivePhase, { seconds: number; pages: number }>>;
}

/**
 * The phases in order. `step` does one batch of its phase (one commit): it
 * moves the cursor on, or to `next` (the following phase at its `start`
 * cursor) when the phase has nothing left to do.
 */
const PHASES: readonly {
  name: ActivePhase;
  start: string;
  step: (run: RebuildRun, next: Position) => Promise<void>;
}[] = [
  { name: 'articles', start: '0', step: (run, next) => itemBatch(run, 'articles', next) },
  { name: 'events', start: '0', step: (run, next) => itemBatch(run, 'events', next) },
  { name: 'sweep', start: '', step: sweepBatch },
  { name: 'buckets', start: '', step: recountBuckets },
  { name: 'indexes', start: '', step: indexBatch },
  { name: 'site', start: '', step: sitePages },
  { name: 'search', start: 'shards:0', step: searchBatch },
];
const DONE: Position = { phase: 'done', cursor: '' };

export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const { db, now = Date.now, signal } = options;
  const started = now();
  const first = { phase: PHASES[0].name, cursor: PHASES[0].start };
  const { state, resumed } = await openState(db, first, { restart: options.restart, at: started });
  const count = async (table: string) => Number((await db(table).count({ n: '*' }))[0].n);
  const run: RebuildRun = {
    db,
    renderer: options.renderer,
    now,
    batchSize: options.batchSize ?? 500,
    started,
    pagesAtStart: state.pages,
    state,
    total: state.pages + (await count('articles')) + (await count('events')) + (await count('index_buckets')) + 16,
    ours: [],
    stylesheetPending: true,
    readAhead: {},
    onProgress: options.onProgress,
  };
  const timing = phaseTiming(run);
  try {
    while (run.state.phase !== 'done') {
      timing.phaseMayHaveChanged();
      if (signal?.aborted) break;
      const at = PHASES.findIndex((p) => p.name === run.state.phase);
      if (at < 0) throw new Error(`rebuild_state names an unknown phase "${run.state.phase}"; run with --restart`);
      const following = PHASES[at + 1];
      await PHASES[at].step(run, following ? { phase: following.name, cursor: following.start } : DONE);
    }
  } finally {
    // Nothing of this run is left running when it returns or throws (an interrupted run stops here).
    const { items, indexes } = run.readAhead;
    await Promise.all([items?.batch, indexes?.batch.then((b) => b.rendered)].map((p) => p?.catch(() => undefined)));
  }
  timing.tally();
  return {
    completed: run.state.phase === 'done',
    resumed,
    pages: run.state.pages,
    written: run.state.written,
    seconds: (now() - started) / 1000,
    phases: timing.phases,
  };
}

/** Time and pages per phase: each span between two phase changes is added to the phase that was running. */
function phaseTiming(run: RebuildRun) {
  const phases: RebuildResult['phases'] = {};
  let mark = { phase: run.state.phase, at: run.now(), pages: run.state.pages };
  const tally = () => {
    if (mark.phase !== 'done') {
      const sum = phases[mark.phase] ?? { seconds: 0, pages: 0 };
      phases[mark.phase] = {
        seconds: sum.seconds + (run.now() - mark.at) / 1000,
        pages: sum.pages + run.state.pages - mark.pages,
      };
    }
    mark = { phase: run.state.phase, at: run.now(), pages: run.state.pages };
  };
  return {
    phases,
    tally,
    phaseMayHaveChanged: () => {
      if (run.state.phase !== mark.phase) tally();
    },
  };
}
