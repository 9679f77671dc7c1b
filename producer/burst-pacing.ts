// When a producer claims its next group during a burst (issue 23: ≤ 3 pages
// journaled per new article). A group journals its items' pages plus every
// listing, feed and sitemap page they touch, about 30–40 pages whatever its
// size; when a producer keeps up with the writers, the saves waiting at each
// claim are few, so those listings were journaled again every few saves
// (4–5 pages per new article at 2,000 saves from 16 writers). So while a
// burst is being rendered, the next group waits until it can be full
// (`maxItems`), its oldest save has waited `waitMs`, or no save has arrived
// for BURST_IDLE_MS (the burst is over: the few saves of one scheduled
// instant, applied while the first of them rendered, must not wait the whole
// `waitMs` for company that is not coming). A save in a quiet moment is
// claimed at once: there is no window outside a burst.
//
// A burst is under way when saves arrived while this producer rendered its
// last group, or another producer is rendering one (a live claim). Read from
// the outbox, so every producer sees the same burst.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../common/db/database';
import { dbNowMs } from '../common/db/db-time';

/** Default of PRODUCER_BURST_WAIT_MS: the longest a save waits to join a fuller group while a burst is rendered. */
export const DEFAULT_BURST_WAIT_MS = 1500;
/** How often a waiting producer looks at the outbox again. */
const POLL_MS = 50;
/** No new save for this long (by this producer's clock) ends a burst: what waits is claimed. */
export const BURST_IDLE_MS = 200;

/** The outbox as a claim would see it. */
export interface Waiting {
  /** Saves no live claim holds (a claim would take them). */
  free: number;
  /** Saves a live claim holds (a group being rendered). */
  claimed: number;
  /** Age of the oldest free save, by the committing app's clock against this producer's (0 when none). */
  oldestMs: number;
}

export interface PaceOptions {
  /** This producer has just rendered a group (in the same job). */
  afterGroup: boolean;
  maxItems: number;
  waitMs: number;
  /** How long this producer has waited already (a bound that holds whatever the hosts' clocks say). */
  waitedMs: number;
  /** How long since the waiting saves last grew in number, by this producer's clock (0 when they just did). */
  quietMs: number;
}

/** 'claim' now, 'wait' for more saves, or 'none' when nothing waits. Pure. */
export function paceDecision(w: Waiting, o: PaceOptions): 'claim' | 'wait' | 'none' {
  if (w.free === 0) return 'none';
  const burst = o.afterGroup || w.claimed > 0;
  if (!burst || w.free >= o.maxItems || o.quietMs >= BURST_IDLE_MS) return 'claim';
  return w.oldestMs >= o.waitMs || o.waitedMs >= o.waitMs ? 'claim' : 'wait';
}

export async function waitingSaves(db: Database, now: number): Promise<Waiting> {
  const live = dbNowMs(db);
  const free = db.raw('(claimed_until is null or claimed_until < ?)', [live]);
  const [row] = await db('outbox')
    .whereNull('done_at')
    .select(
      db.raw('sum(case when ? then 1 else 0 end) as free', [free]),
      db.raw('sum(case when ? then 0 else 1 end) as claimed', [free]),
      db.raw('min(case when ? then created_at end) as oldest', [free]),
    );
  const oldest = row?.oldest == null ? undefined : Number(row.oldest);
  return {
    free: Number(row?.free ?? 0),
    claimed: Number(row?.claimed ?? 0),
    oldestMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
  };
}

/**
 * Waits (polling the outbox) until the next group should be claimed; false
 * when no save waits (the job has nothing left to do) or the producer stops.
 */
export async function paceNextGroup(
  db: Database,
  options: Omit<PaceOptions, 'waitedMs' | 'quietMs'> & { now: () => number; stopping?: () => boolean },
): Promise<boolean> {
  const started = performance.now();
  let free = 0;
  let grewAt = started;
  for (;;) {
    const waiting = await waitingSaves(db, options.now());
    const at = performance.now();
    if (waiting.free > free) grewAt = at;
    free = waiting.free;
    const decision = paceDecision(waiting, { ...options, waitedMs: at - started, quietMs: at - grewAt });
    if (decision !== 'wait') return decision === 'claim';
    if (options.stopping?.()) return false;
    await sleep(Math.max(1, Math.min(POLL_MS, options.waitMs - (at - started))));
  }
}
