// The page a shareable preview link shows (app/preview/): an article or
// event that is not public yet, rendered by the same renderer, templates and
// view models as its public page (itemPageHtml in producer/page-renderer.ts),
// with a banner above it holding the item's listing card (renderCard).
// Read-only: nothing is stored, staged or journaled, so a preview can never
// reach a mirror or a proxy.
import type { Knex } from 'knex';
import type { Topic } from './affected-pages';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './item-rows';
import { articleState, eventState } from './item-state';
import { itemPageHtml, renderCard } from './page-renderer';
import { PageContext, withChrome } from './page-view';
import type { Config } from '../common/config';
import { createRenderer, Renderer, siteInfoOf } from './renderer';

export interface PagePreview {
  /** The item's page with the preview banner, or undefined when the item is gone. */
  render(
    db: Knex | Knex.Transaction,
    item: { topic: Topic; id: number; expiresAt: number },
  ): Promise<string | undefined>;
  /** The stylesheet, icons and manifest the page links (the app serves them beside the preview). */
  files: { path: string; contentType: string; body: Buffer }[];
}

export function createPagePreview(renderer: Renderer, now: () => number = Date.now): PagePreview {
  return {
    files: renderer.files.map((f) => ({ path: f.path, contentType: f.contentType, body: f.body })),
    async render(db, { topic, id, expiresAt }) {
      const table = topic === 'article' ? 'articles' : 'events';
      const [item] =
        topic === 'article' ? await loadArticles(db, [id], { body: true }) : await loadEvents(db, [id], { body: true });
      if (!item) return undefined;
      const ctx: PageContext = { db, renderer, now: now() };
      await withChrome(ctx);
      if (topic === 'article') {
        // Not published yet: the page will carry the date its schedule publishes it on (app/schedule/), else today's.
        const row = item as ArticleRow;
        const scheduled = await db(table).where({ id }).first('publish_at');
        if (row.publishedAt === null)
          row.publishedAt = scheduled?.publish_at == null ? ctx.now : Number(scheduled.publish_at);
      }
      const state = topic === 'article' ? articleState(item as ArticleRow, ctx.now) : eventState(item as EventRow);
      const card = renderCard(renderer, state);
      return itemPageHtml(ctx, topic, item, { preview: { card, expiresAt } });
    },
  };
}

/** The preview renderer for a site's configuration: what bin/ hands the app (app/preview/page-preview.ts). */
export function pagePreviewFor(config: Config, now: () => number = Date.now): PagePreview {
  return createPagePreview(createRenderer(siteInfoOf(config)), now);
}
