// One render job: a wake-up. The producer claims every save waiting at
// that moment (the job's own and any others, up to a bound; see
// producer/render-claims.ts), renders them as one group
// (producer/render-group.ts), and repeats while saves keep arriving, so a
// burst is rendered in a few large groups and a single save in a quiet
// moment at once. During a burst the next group waits to fill up, for a
// bounded time (producer/burst-pacing.ts). Jobs whose saves another group
// took find nothing left and return. A producer renders one group at a time
// (its jobs take turns: concurrent groups of one process split the waiting
// saves into small groups that each journal every listing, and share one
// CPU); rendering runs outside the journal lock, so several producers render
// in parallel and only the journal append is serialized.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../common/db/database';
import type { JournalNotifier } from '../common/journal-notifier';
import type { Logger } from '../common/logger';
import { isUnrecoverable, RenderHandler } from '../common/queue/render-queue';
import { DEFAULT_BURST_WAIT_MS, paceNextGroup } from './burst-pacing';
import { Claim, claimGroup, ClaimedItem, releaseClaim, renewWhileWorking } from './render-claims';
import { GroupResult, renderGroup } from './render-group';
import type { Renderer } from './renderer';
import { savesRenderedCounter } from './backlog-metrics';

/** Items per group: bounds a group's memory and its journal batch, and leaves work for other producers. */
export const DEFAULT_GROUP_ITEMS = 200;

export interface RenderJobDeps {
  db: Database;
  renderer: Renderer;
  notifier: JournalNotifier;
  logger: Logger;
  registry: Registry;
  now?: () => number;
  /** Most items one group renders (DEFAULT_GROUP_ITEMS); 1 renders every item on its own. */
  groupItems?: number;
  /** While a burst is rendered, the longest a save waits to join a fuller group (DEFAULT_BURST_WAIT_MS); 0: never. */
  burstWaitMs?: number;
  /** Told of every group rendered: its saves and pages journaled (benchmarks, pages per save). */
  onGroup?: (result: GroupResult) => void;
  /**
   * True once the producer is stopping: a job finishes its group and claims
   * no other (the saves left wait in the outbox for the next producer), so a
   * SIGTERM during a burst does not keep it rendering to the end of the burst.
   */
  stopping?: () => boolean;
}

export function createRenderJobHandler(deps: RenderJobDeps): RenderHandler {
  const { db, renderer, logger, now = Date.now } = deps;
  const metrics = renderJobMetrics(deps.registry, db);
  const maxItems = deps.groupItems ?? DEFAULT_GROUP_ITEMS;
  // Pages journaled per save = hyperstatic_pages_written_total / this (producer/backlog-metrics.ts).
  const savesRendered = savesRenderedCounter(deps.registry);
  const waitMs = deps.burstWaitMs ?? DEFAULT_BURST_WAIT_MS;
  let turn: Promise<unknown> = Promise.resolve();
  /**
   * Whether this producer's last group journaled pages its items share (listings, feeds): waiting
   * for a fuller group only pays then. A burst of body edits journals one page per save however
   * it is grouped, and is not kept waiting.
   */
  let sharedPages = true;
  const handle: RenderHandler = async (job) => {
    let ownFailure: unknown;
    let groups = 0;
    /** Groups still to claim one item at a time, after a page the whole group shared failed for good. */
    let solo = 0;
    for (;;) {
      if (deps.stopping?.()) break;
      const pace = solo === 0 && sharedPages && waitMs > 0;
      if (
        pace &&
        !(await paceNextGroup(db, { afterGroup: groups > 0, maxItems, waitMs, now, stopping: deps.stopping }))
      )
        break;
      if (deps.stopping?.()) break;
      const claim = await claimGroup(db, { maxItems: solo > 0 ? 1 : maxItems });
      if (claim.items.length === 0) break;
      solo = Math.max(0, solo - 1);
      groups += 1;
      const started = process.hrtime.bigint();
      const stop = renewWhileWorking(db, claim);
      let result: GroupResult;
      try {
        result = await renderGroup({ db, renderer, now }, claim);
      } catch (error) {
        if (!isUnrecoverable(error)) {
          stop();
          await releaseClaim(db, claim).catch((e) => logger.warn({ err: e }, 'could not release a render claim'));
          throw error;
        }
        if (claim.items.length > 1) {
          // A page the whole group shares (an index, a feed) failed for good: failing every item
          // would close saves that were acknowledged and never published. The items are rendered
          // again one at a time, so only the one whose pages fail is reported.
          stop();
          await releaseClaim(db, claim);
          solo += claim.items.length;
          continue;
        }
        result = failedGroup(claim, error);
      } finally {
        stop();
      }
      for (const { item, error } of result.failures) {
        metrics.jobsDone.inc({ outcome: 'unrecoverable' });
        logger.error(
          { err: error, topic: item.topic, item: item.itemId, template: (error as { template?: string }).template },
          'render failed for good; nothing was written',
        );
        await recordFailure(db, now(), claim, item, error).catch((e) =>
          logger.warn({ err: e }, 'could not record the render failure'),
        );
        if (item.topic === job.topic && item.itemId === job.itemId) ownFailure = error;
      }
      const { batch } = result;
      countGroup(metrics, result, started);
      savesRendered.inc(result.saves);
      logger.debug(
        { items: result.items, saves: result.saves, written: batch.written.length, unchanged: batch.unchanged.length },
        'rendered a group',
      );
      // The stylesheet aside, pages beyond one per item are the group's shared pages.
      sharedPages = batch.written.length - result.items > 1;
      deps.onGroup?.(result);
      if (batch.head !== undefined) await deps.notifier.notify(batch.head);
    }
    if (ownFailure) throw ownFailure;
    if (groups === 0) metrics.jobsDone.inc({ outcome: 'collapsed' });
  };
  // One group at a time per producer: a job waits for the one before it.
  return (job) => {
    const run = turn.then(() => handle(job));
    turn = run.catch(() => undefined);
    return run;
  };
}

function failedGroup(claim: Claim, error: unknown): GroupResult {
  return {
    items: 0,
    saves: 0,
    rendered: 0,
    batch: { written: [], unchanged: [], superseded: [], purged: [] },
    failures: claim.items.map((item) => ({ item, error })),
  };
}

function countGroup(metrics: ReturnType<typeof renderJobMetrics>, result: GroupResult, started: bigint): void {
  metrics.pagesRendered.inc(result.rendered);
  metrics.pagesWritten.inc(result.batch.written.length);
  metrics.pagesUnchanged.inc(result.batch.unchanged.length);
  metrics.groups.inc();
  metrics.jobsDone.inc({ outcome: 'rendered' });
  metrics.renderSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
}

function renderJobMetrics(registry: Registry, db: Database) {
  const metrics = {
    renderSeconds: new Histogram({
      name: 'hyperstatic_render_seconds',
      help: 'Time to render and journal one group',
      registers: [registry],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    pagesRendered: new Counter({
      name: 'hyperstatic_pages_rendered_total',
      help: 'Pages rendered by render jobs',
      registers: [registry],
    }),
    pagesWritten: new Counter({
      name: 'hyperstatic_pages_written_total',
      help: 'Pages whose bytes changed and were journaled',
      registers: [registry],
    }),
    pagesUnchanged: new Counter({
      name: 'hyperstatic_pages_unchanged_total',
      help: 'Pages rendered to the same bytes (no journal entry)',
      registers: [registry],
    }),
    groups: new Counter({
      name: 'hyperstatic_render_groups_total',
      help: 'Render groups journaled (each renders every save waiting when it started)',
      registers: [registry],
    }),
    jobsDone: new Counter({
      name: 'hyperstatic_render_jobs_total',
      help: 'Render jobs by outcome (rendered, collapsed, unrecoverable)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
  // Read from the database at scrape time: every producer reports the cluster's figure, whichever of them failed the job.
  new Gauge({
    name: 'hyperstatic_render_failures_unresolved',
    help: 'Render jobs that failed for good (template or data error) whose item has not rendered since; listed by `hyperstatic status`',
    registers: [registry],
    async collect() {
      try {
        const [{ n }] = await db('render_failures')
          .leftJoin('render_state', (j) =>
            j
              .on('render_state.topic', 'render_failures.topic')
              .andOn('render_state.item_id', 'render_failures.item_id'),
          )
          .where((q) =>
            q
              .whereNull('render_state.rendered_at')
              .orWhere('render_state.rendered_at', '<', db.ref('render_failures.failed_at')),
          )
          .count({ n: '*' });
        this.set(Number(n));
      } catch {
        // The database is down: /readyz says so; the scrape still answers.
      }
    },
  });
  return metrics;
}

/**
 * Reported once and not retried: the outbox rows are closed so the relay
 * does not dispatch them again; the failure stays in render_failures. Only
 * rows still claimed by this group: a producer whose lease lapsed must not
 * close saves another producer claimed since (and may render fine); if none
 * is still its own, nothing is recorded (the other producer reports its own
 * outcome).
 */
export async function recordFailure(
  db: Database,
  at: number,
  claim: Pick<Claim, 'token'>,
  item: ClaimedItem,
  error: unknown,
): Promise<boolean> {
  const message = String((error as Error).message ?? error).slice(0, 2000);
  return db.transaction(async (trx) => {
    const closed = await trx('outbox')
      .where({ topic: item.topic, item_id: item.itemId, claimed_by: claim.token })
      .where('id', '<=', item.upTo)
      .whereNull('done_at')
      .update({ done_at: at });
    if (Number(closed) === 0) return false;
    await trx('render_failures').insert({ topic: item.topic, item_id: item.itemId, message, failed_at: at });
    return true;
  });
}
