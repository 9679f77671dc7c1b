// Moves outbox rows into the render queue (at least once) and marks them
// dispatched. Woken by every save; a timer retries what could not be queued
// (Redis down) and re-dispatches rows whose render never finished (a job
// lost with Redis or a producer, or claimed by a producer that died). Saves
// of one item that arrive together collapse into one job.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Database } from '../../common/db/database';
import { dbNowMs } from '../../common/db/db-time';
import type { Logger } from '../../common/logger';
import type { RenderJob, RenderQueue } from '../../common/queue/render-queue';

const BATCH = 500;
const REDISPATCH_AFTER_MS = 30_000;
/** Not more often than this for a row whose claim lapsed: the jobs already queued may take it first. */
const CLAIM_REDISPATCH_MS = 2_000;

export interface OutboxRelay {
  wake(): void;
  /**
   * Dispatches nothing while `work` runs, then once if anything asked meanwhile:
   * the scheduler applies all of an instant's changes under it, so a timer tick
   * between two of them cannot hand the first few to a producer alone (the rest
   * would then wait as a burst, producer/burst-pacing.ts).
   */
  hold<T>(work: () => Promise<T>): Promise<T>;
  /** Runs one pass now; resolves when it is done (tests and shutdown). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export interface OutboxRelayDeps {
  db: Database;
  queue: RenderQueue;
  logger: Logger;
  registry: Registry;
  intervalMs: number;
  now?: () => number;
}

export function startOutboxRelay(deps: OutboxRelayDeps): OutboxRelay {
  const { logger } = deps;
  const metrics = relayMetrics(deps.registry);
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let failing = false;
  let holds = 0;
  let askedWhileHeld = false;

  function run(): Promise<void> {
    if (holds > 0) {
      askedWhileHeld = true;
      return running ?? Promise.resolve();
    }
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await dispatchPass(deps, metrics);
          if (failing) logger.info('outbox relay reaches the queue again');
          failing = false;
        } catch (error) {
          metrics.failures.inc();
          if (!failing) logger.warn({ err: error }, 'outbox relay could not dispatch; saves are kept and retried');
          failing = true;
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => void run(), deps.intervalMs);
  void run();

  return {
    wake() {
      if (!stopped) void run();
    },
    async hold(work) {
      holds += 1;
      try {
        return await work();
      } finally {
        holds -= 1;
        if (holds === 0 && askedWhileHeld && !stopped) {
          askedWhileHeld = false;
          void run();
        }
      }
    },
    drain: run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

type RelayMetrics = ReturnType<typeof relayMetrics>;

function relayMetrics(registry: Registry) {
  return {
    dispatched: new Counter({
      name: 'hyperstatic_outbox_dispatched_total',
      help: 'Outbox rows handed to the render queue',
      registers: [registry],
    }),
    failures: new Counter({
      name: 'hyperstatic_outbox_dispatch_failures_total',
      help: 'Relay passes that could not reach the queue',
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'hyperstatic_outbox_pending',
      help: 'Outbox rows not yet rendered',
      registers: [registry],
    }),
  };
}

/** Queues every row not yet dispatched (or dispatched too long ago), a batch at a time. */
async function dispatchPass({ db, queue, now = Date.now }: OutboxRelayDeps, metrics: RelayMetrics): Promise<void> {
  for (;;) {
    const t = now();
    const rows: { id: number; topic: string; item_id: number }[] = await db('outbox')
      .whereNull('done_at')
      // A lapsed claim (by the database's clock, as producers judge it): the producer rendering the row died
      // (producer/render-claims.ts); any producer may take it now.
      .where((q) =>
        q
          .whereNull('dispatched_at')
          .orWhere('dispatched_at', '<', t - REDISPATCH_AFTER_MS)
          .orWhere((c) =>
            c.where('claimed_until', '<', dbNowMs(db)).where('dispatched_at', '<', t - CLAIM_REDISPATCH_MS),
          ),
      )
      .orderBy('id')
      .limit(BATCH)
      .select('id', 'topic', 'item_id');
    if (rows.length === 0) break;
    const jobs = new Map<string, RenderJob>();
    for (const row of rows) {
      const id = Number(row.id);
      const key = `${row.topic}:${row.item_id}`;
      const job = jobs.get(key);
      if (!job || job.outboxId < id)
        jobs.set(key, { topic: row.topic as RenderJob['topic'], itemId: Number(row.item_id), outboxId: id });
    }
    await queue.enqueue([...jobs.values()]);
    await db('outbox')
      .whereIn(
        'id',
        rows.map((r) => r.id),
      )
      .whereNull('done_at')
      .update({ dispatched_at: t });
    metrics.dispatched.inc(rows.length);
    if (rows.length < BATCH) break;
  }
  const [{ n }] = await db('outbox').whereNull('done_at').count({ n: '*' });
  metrics.pending.set(Number(n));
}
