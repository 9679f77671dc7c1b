// One render job: regenerate every page an item's change affects, store what
// changed, mark the item's outbox rows done, announce the new journal head.
import { Counter, Histogram, Registry } from 'prom-client';
import type { Database } from '../common/database';
import type { JournalNotifier } from '../common/journal-notifier';
import type { Logger } from '../common/logger';
import { RenderHandler, UnrecoverableJobError } from '../common/render-queue';
import { affectedPages, PageRef } from './affected-pages';
import { RenderedPage, writeBatch } from './change-journal';
import { articleView, Renderer } from './renderer';
import { ArticleRow, latestArticles, loadArticle } from './site-queries';

const HTML = 'text/html; charset=utf-8';
const HOME_LATEST = 20;
const HOME_FEATURED = 3;

export interface RenderJobDeps {
  db: Database;
  renderer: Renderer;
  notifier: JournalNotifier;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

export function createRenderJobHandler(deps: RenderJobDeps): RenderHandler {
  const { db, renderer, notifier, logger, now = Date.now } = deps;
  const renderSeconds = new Histogram({ name: 'hyperstatic_render_seconds', help: 'Time to render and store one job', registers: [deps.registry], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
  const pagesWritten = new Counter({ name: 'hyperstatic_pages_written_total', help: 'Pages whose bytes changed and were journaled', registers: [deps.registry] });
  const pagesUnchanged = new Counter({ name: 'hyperstatic_pages_unchanged_total', help: 'Pages rendered to the same bytes (no journal entry)', registers: [deps.registry] });
  const jobsDone = new Counter({ name: 'hyperstatic_render_jobs_total', help: 'Render jobs by outcome', labelNames: ['outcome'], registers: [deps.registry] });

  async function renderPage(ref: PageRef, article: ArticleRow, at: number): Promise<RenderedPage | undefined> {
    if (ref.kind === 'article') {
      if (ref.visible) {
        const body = renderer.render('article.njk', { article: articleView(article) });
        return { path: ref.path, kind: 'article', op: 'put', body: Buffer.from(body), contentType: HTML, lastModified: article.updatedAt };
      }
      // Unpublished: a 410 tombstone, but only where the page was ever public.
      const live = await db('pages').where({ path: ref.path }).first('op');
      if (!live || live.op !== 'put') return undefined;
      return { path: ref.path, kind: 'article', op: 'gone', body: Buffer.from(renderer.render('gone.njk', {})), contentType: HTML, lastModified: at };
    }
    const [latest, featured] = await Promise.all([latestArticles(db, HOME_LATEST), latestArticles(db, HOME_FEATURED, { featured: true })]);
    const body = renderer.render('home.njk', { latest: latest.map(articleView), featured: featured.map(articleView) });
    return { path: ref.path, kind: 'index', op: 'put', body: Buffer.from(body), contentType: HTML, lastModified: at };
  }

  return async (job) => {
    const started = process.hrtime.bigint();
    // Every outbox row of this item not yet rendered: a job queued for an
    // older save finds them already done and returns (saves collapse).
    const pending = await db('outbox').where({ topic: job.topic, item_id: job.itemId }).whereNull('done_at').max({ upTo: 'id' }).first();
    const upTo = pending?.upTo == null ? undefined : Number(pending.upTo);
    if (upTo === undefined) {
      jobsDone.inc({ outcome: 'collapsed' });
      return;
    }
    const article = await loadArticle(db, job.itemId);
    if (!article) throw new UnrecoverableJobError(`article ${job.itemId} does not exist`);
    const at = now();
    const pages: RenderedPage[] = [];
    for (const ref of affectedPages(article)) {
      const page = await renderPage(ref, article, at);
      if (page) pages.push(page);
    }
    const result = await writeBatch(db, pages, {
      now: at,
      inTransaction: async (trx) => {
        await trx('outbox').where({ topic: job.topic, item_id: job.itemId }).where('id', '<=', upTo).whereNull('done_at').update({ done_at: at });
      },
    });
    pagesWritten.inc(result.written.length);
    pagesUnchanged.inc(result.unchanged.length);
    jobsDone.inc({ outcome: 'rendered' });
    renderSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    logger.debug({ item: job.itemId, written: result.written, unchanged: result.unchanged.length }, 'rendered');
    if (result.head !== undefined) await notifier.notify(result.head);
  };
}
