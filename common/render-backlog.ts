// Back-pressure made visible (issue 23, item 3): how many saves wait to be
// rendered and since when, read from the outbox, so every process that asks
// (any producer, the app, `hyperstatic status`, the propagation panel) sees
// the cluster's figure, whichever producer is rendering or whether any runs
// at all. The render queue's own depth (jobs waiting or running) comes from
// the queue, which producers and apps share.
import { Gauge, Registry } from 'prom-client';
import type { Database } from './db/database';
import type { RenderQueue } from './queue/render-queue';

export interface RenderBacklog {
  /** Outbox rows not yet rendered (each save owes one or more). */
  waitingSaves: number;
  /** Seconds since the oldest unrendered outbox row was committed; 0 when nothing waits. */
  oldestSeconds: number;
}

/**
 * The unrendered outbox rows: how many, and the age of the oldest. Ages are
 * measured against `now` of the caller; the rows carry the committing app's
 * clock, so hosts must keep their clocks in step (NTP) for the age to mean
 * the same everywhere.
 */
export async function renderBacklog(db: Database, now: number): Promise<RenderBacklog> {
  const [row] = await db('outbox').whereNull('done_at').count({ n: '*' }).min({ oldest: 'created_at' });
  return backlogOf(Number(row.n), row.oldest == null ? null : Number(row.oldest), now);
}

export function backlogOf(waiting: number, oldestCreatedAt: number | null, now: number): RenderBacklog {
  return {
    waitingSaves: waiting,
    oldestSeconds: oldestCreatedAt === null || waiting === 0 ? 0 : Math.max(0, (now - oldestCreatedAt) / 1000),
  };
}

export const BACKLOG_METRICS = {
  queueDepth: 'hyperstatic_render_queue_depth',
  oldestSeconds: 'hyperstatic_render_oldest_waiting_save_seconds',
} as const;

/**
 * The backlog gauges, read at scrape time. Registered by every producer and
 * every app: the app's copy keeps reporting when no producer runs, which is
 * when the backlog grows. A registry shared by both (the embedded mode) gets
 * them once.
 */
export function registerBacklogMetrics(
  registry: Registry,
  deps: { db: Database; queue: RenderQueue; now?: () => number },
): void {
  if (registry.getSingleMetric(BACKLOG_METRICS.queueDepth)) return;
  const now = deps.now ?? Date.now;
  new Gauge({
    name: BACKLOG_METRICS.queueDepth,
    help: 'Render jobs waiting or running in the render queue (shared by every producer)',
    registers: [registry],
    async collect() {
      try {
        this.set(await deps.queue.depth());
      } catch {
        // The queue is unreachable: /readyz says so; the scrape still answers.
      }
    },
  });
  new Gauge({
    name: BACKLOG_METRICS.oldestSeconds,
    help: 'Seconds since the oldest save that is not yet rendered was committed (0 when none waits); from the outbox, so the same on every process',
    registers: [registry],
    async collect() {
      try {
        this.set((await renderBacklog(deps.db, now())).oldestSeconds);
      } catch {
        // The database is down: /readyz says so; the scrape still answers.
      }
    },
  });
}
