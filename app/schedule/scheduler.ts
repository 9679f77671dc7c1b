// The scheduler (docs/design.md, "Scheduled changes"): applies scheduled
// publications and take-downs when they fall due, and owes the renders of
// pages that change with time alone. The database is the truth: an alarm
// (a bull delayed job, or a timer in the embedded mode) only says "look
// now". Each run reads what is due, applies each change through the same
// save as an editor's (revision, outbox row, render) in a transaction that
// first checks the change is still due on the locked row and clears it, so
// a job fired twice, by two apps, after a restart, a Redis loss or a
// promotion applies it exactly once. Every start and every re-check
// (SCHEDULE_RECHECK_MS) re-arms the alarm from the database.
import type { Database } from '../../common/db/database';
import type { Logger } from '../../common/logger';
import type { EditorialItems } from '../content/item-kinds';
import type { Alarm } from './alarm';
import { NotDueError, ScheduleColumn } from './schedule-rules';

/** Something that falls due: its earliest pending instant, and applying what is due at `now`. */
export interface DueSource {
  name: string;
  next(): Promise<number | null>;
  apply(now: number): Promise<number>;
}

export interface Scheduler {
  /** Re-arms the alarm from the database (after a save that may have set or moved a schedule). */
  rearm(): Promise<void>;
  /** Applies what is due now and re-arms: what the alarm and the re-check run. */
  run(): Promise<void>;
  close(): Promise<void>;
}

export interface SchedulerDeps {
  db: Database;
  items: EditorialItems;
  alarm: Alarm;
  logger: Logger;
  now: () => number;
  recheckMs: number;
  /** More sources beside the items' own publish and take-down columns (the news sitemap's age-out). */
  sources?: DueSource[];
  /** Called after a run applied changes: wakes the outbox relay. */
  onApplied?: () => void;
  /** Holds the outbox relay's dispatching while a pass applies an instant's changes (OutboxRelay.hold). */
  holdDispatch?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Rows one pass applies before reading again: a backlog (after downtime) is applied in bounded steps. */
const PASS_ROWS = 100;

/** The items' scheduled publications and take-downs, one source per kind and column. */
export function itemSources(db: Database, items: EditorialItems, logger: Logger): DueSource[] {
  const columns: ScheduleColumn[] = ['publish_at', 'unpublish_at'];
  return items.flatMap((service) =>
    columns.map((column) => ({
      name: `${service.kind.name} ${column}`,
      async next() {
        const row = await db(service.kind.plural).min({ at: column }).first();
        return row?.at == null ? null : Number(row.at);
      },
      async apply(now: number) {
        let applied = 0;
        for (;;) {
          const rows = await db(service.kind.plural)
            .where(column, '<=', now)
            .orderBy(column)
            .limit(PASS_ROWS)
            .select('id', column);
          for (const row of rows) {
            const at = Number(row[column]);
            const action = column === 'publish_at' ? 'publish' : 'unpublish';
            try {
              await service.update(
                Number(row.id),
                {},
                {
                  due: { column, now },
                  // One wake-up after the pass (onApplied): the instant's changes render as one group.
                  wakeLater: true,
                  actor: { userId: null, action, reason: `scheduled for ${new Date(at).toISOString()}` },
                },
              );
              applied++;
              logger.info({ kind: service.kind.name, id: Number(row.id), action, at }, 'applied a scheduled change');
            } catch (error) {
              // Another app applied it, or an editor cancelled or moved it, since the read.
              if (!(error instanceof NotDueError)) throw error;
            }
          }
          if (rows.length < PASS_ROWS) return applied;
        }
      },
    })),
  );
}

export function startScheduler(deps: SchedulerDeps): Scheduler {
  const { alarm, logger, now } = deps;
  const sources = [...itemSources(deps.db, deps.items, logger), ...(deps.sources ?? [])];
  let closed = false;
  // Runs in this process one at a time: a wake-up during a run is folded into one more run.
  let running: Promise<void> | undefined;
  let again = false;

  async function rearm(): Promise<void> {
    const instants = (await Promise.all(sources.map((s) => s.next()))).filter((at): at is number => at !== null);
    if (instants.length === 0 || closed) return;
    await alarm.set(Math.min(...instants));
  }

  async function applyDue(): Promise<number> {
    let applied = 0;
    for (const source of sources) applied += await source.apply(now());
    return applied;
  }

  async function pass(): Promise<void> {
    // One group for the instant: nothing is handed to a producer until every due change is written.
    const applied = deps.holdDispatch ? await deps.holdDispatch(applyDue) : await applyDue();
    if (applied > 0) deps.onApplied?.();
    await rearm();
  }

  function run(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pass();
        } while (again && !closed);
      } catch (error) {
        // The database or Redis is away: the next re-check tries again.
        logger.warn({ err: error }, 'scheduler run failed; retrying at the next re-check');
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  alarm.start(run);
  const recheck = setInterval(() => void run(), deps.recheckMs);
  recheck.unref();
  void run();

  return {
    rearm: () =>
      rearm().catch((error: unknown) => logger.warn({ err: error }, 'could not arm the scheduler; the re-check will')),
    run,
    async close() {
      closed = true;
      clearInterval(recheck);
      await running;
      await alarm.close();
    },
  };
}
