// One render job: regenerate every page an item's change affects, store what
// changed, mark the item's outbox rows done, announce the new journal head.
//
// The whole job runs in one transaction that first takes the journal lock
// (producer/change-journal.ts lockJournal). Several producers may run: their
// jobs serialize on that lock, each sees every earlier job's commit, so no
// page is rendered by two producers at once and an older render never
// replaces a newer one. Rapid saves collapse: a job renders the item as it
// is now and marks every pending outbox row of the item done, so the jobs
// queued for the other saves find nothing left and return.
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../common/db/database';
import type { JournalNotifier } from '../common/journal-notifier';
import type { Logger } from '../common/logger';
import { isUnrecoverable, RenderHandler, RenderJob, UnrecoverableJobError } from '../common/queue/render-queue';
import { affectedPages } from './affected-pages';
import { BatchResult, lockJournal, RenderedPage, writePages } from './change-journal';
import { articleState, entriesOf, eventState, parseState, serializeState, StoredState } from './item-state';
import { renderCard, renderItem, renderRef, stylesheetPage } from './page-renderer';
import type { Renderer } from './renderer';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './item-rows';
import { adjustBuckets } from './site-queries';
import { savesRenderedCounter } from './backlog-metrics';

export interface RenderJobDeps {
  db: Database;
  renderer: Renderer;
  notifier: JournalNotifier;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

export function createRenderJobHandler(deps: RenderJobDeps): RenderHandler {
  const { db, renderer, logger, now = Date.now } = deps;
  const metrics = renderJobMetrics(deps.registry, db);
  const savesRendered = savesRenderedCounter(deps.registry);
  return async (job) => {
    const started = process.hrtime.bigint();
    let result: (BatchResult & { saves: number }) | undefined;
    try {
      result = await renderChange({ db, renderer, now }, job, metrics);
    } catch (error) {
      if (isUnrecoverable(error)) {
        metrics.jobsDone.inc({ outcome: 'unrecoverable' });
        logger.error(
          { err: error, topic: job.topic, item: job.itemId, template: (error as { template?: string }).template },
          'render failed for good; nothing was written',
        );
        await recordFailure(db, now(), job, error).catch((e) =>
          logger.warn({ err: e }, 'could not record the render failure'),
        );
      }
      throw error;
    }
    if (!result) {
      metrics.jobsDone.inc({ outcome: 'collapsed' });
      return;
    }
    metrics.pagesWritten.inc(result.written.length);
    savesRendered.inc(result.saves);
    metrics.pagesUnchanged.inc(result.unchanged.length);
    metrics.jobsDone.inc({ outcome: 'rendered' });
    metrics.renderSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    logger.debug(
      { topic: job.topic, item: job.itemId, written: result.written, unchanged: result.unchanged.length },
      'rendered',
    );
    if (result.head !== undefined) await deps.notifier.notify(result.head);
  };
}

type RenderJobMetrics = ReturnType<typeof renderJobMetrics>;

function renderJobMetrics(registry: Registry, db: Database) {
  const metrics = {
    renderSeconds: new Histogram({
      name: 'hyperstatic_render_seconds',
      help: 'Time to render and store one job',
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

/** The job's work in one transaction under the journal lock; undefined when there was nothing left to render. */
async function renderChange(
  deps: { db: Database; renderer: Renderer; now: () => number },
  job: RenderJob,
  metrics: Pick<RenderJobMetrics, 'pagesRendered'>,
): Promise<(BatchResult & { saves: number }) | undefined> {
  const { db, renderer, now } = deps;
  return db.transaction(async (trx) => {
    const lock = await lockJournal(trx);
    const pending = await trx('outbox')
      .where({ topic: job.topic, item_id: job.itemId })
      .whereNull('done_at')
      .max({ upTo: 'id' })
      .first();
    const upTo = pending?.upTo == null ? undefined : Number(pending.upTo);
    if (upTo === undefined) return undefined;
    const at = now();

    const item: ArticleRow | EventRow | undefined =
      job.topic === 'article'
        ? (await loadArticles(trx, [job.itemId], { body: true }))[0]
        : (await loadEvents(trx, [job.itemId], { body: true }))[0];
    if (!item) throw new UnrecoverableJobError(`${job.topic} ${job.itemId} does not exist`);
    const after = job.topic === 'article' ? articleState(item as ArticleRow) : eventState(item as EventRow);
    const previous = await trx('render_state')
      .where({ topic: job.topic, item_id: job.itemId })
      .first('state', 'version');
    // Monotonic: a render never goes back to a version older than the last one stored.
    if (previous && Number(previous.version) > upTo) return undefined;
    const before = previous ? parseState(String(previous.state)) : undefined;

    // Listing rows and the item's card first: the index pages below read them.
    await saveListingState(trx, after);
    await trx('render_state')
      .insert({
        topic: job.topic,
        item_id: job.itemId,
        state: serializeState(after),
        card_html: renderCard(renderer, after),
        version: upTo,
        rendered_at: at,
      })
      .onConflict(['topic', 'item_id'])
      .merge();
    const pages: RenderedPage[] = [];
    const ctx = { db: trx, renderer, now: at };
    for (const ref of affectedPages(before, after)) {
      if (ref.kind === 'item' && ref.id === item.id && ref.slug === item.slug) {
        const page = await renderItem(ctx, ref.topic, item, ref.slug, ref.visible);
        if (page) pages.push(page);
      } else pages.push(...(await renderRef(ctx, ref)));
    }
    metrics.pagesRendered.inc(pages.length);
    // The stylesheet these pages link to (journaled only when a deploy changed it, so it is live before them).
    const result = await writePages(trx, lock, [stylesheetPage(renderer, at), ...pages], at);
    const saves = await trx('outbox')
      .where({ topic: job.topic, item_id: job.itemId })
      .where('id', '<=', upTo)
      .whereNull('done_at')
      .update({ done_at: at });
    return { ...result, saves };
  });
}

/**
 * Reported once and not retried: the outbox rows are closed so the relay
 * does not dispatch them again; the failure stays in render_failures.
 */
async function recordFailure(db: Database, at: number, job: RenderJob, error: unknown): Promise<void> {
  const message = String((error as Error).message ?? error).slice(0, 2000);
  await db.transaction(async (trx) => {
    await trx('render_failures').insert({ topic: job.topic, item_id: job.itemId, message, failed_at: at });
    await trx('outbox').where({ topic: job.topic, item_id: job.itemId }).whereNull('done_at').update({ done_at: at });
  });
}

/** Replaces the item's rows in the listing index and adjusts the count of every bucket it left or entered. */
export async function saveListingState(trx: Knex | Knex.Transaction, after: StoredState): Promise<void> {
  const id = (m: { index_key: string; bucket: string }) => `${m.index_key}\u0000${m.bucket}`;
  const old = new Map(
    (await trx('index_entries').where({ topic: after.topic, item_id: after.id }).select('index_key', 'bucket')).map(
      (r) => [id(r), r],
    ),
  );
  const entries = entriesOf(after);
  const now = new Map(entries.map((e) => [id(e), e]));
  const changes: { key: string; bucket: string; delta: number }[] = [];
  for (const [k, r] of old) if (!now.has(k)) changes.push({ key: r.index_key, bucket: r.bucket, delta: -1 });
  for (const [k, e] of now) if (!old.has(k)) changes.push({ key: e.index_key, bucket: e.bucket, delta: 1 });
  if (old.size) await trx('index_entries').where({ topic: after.topic, item_id: after.id }).delete();
  if (entries.length) await trx('index_entries').insert(entries);
  await adjustBuckets(trx, changes);
}
