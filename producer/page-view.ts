// What every page render shares: the render context (a database handle for
// one snapshot, the renderer, the clock, the header's chrome and read-ahead
// caches) and the step from a template to a journal page.
import type { Knex } from 'knex';
import type { PageKind } from '../common/feed-format';
import type { RenderedPage } from './change-journal';
import type { ArticleRow } from './item-rows';
import type { Renderer } from './renderer';
import type { ListedCard } from './site-queries';
import { Chrome, loadChrome } from './site-chrome';
import { stripXmlForbidden } from './xml-text';

export interface PageContext {
  db: Knex | Knex.Transaction;
  renderer: Renderer;
  now: number;
  /** The header's sections and submission link, read once per context (producer/site-chrome.ts). */
  chrome?: Chrome;
  /** Listing titles already read in this context (a rebuild batch renders many pages of one listing). */
  titles?: Map<string, string | undefined>;
  /** Read ahead for a batch of months (the full rebuild): their sizes, their public archive pages and their cards. */
  months?: MonthsAhead;
  /** A listing's newest items, read once for its root page and both feeds (a rebuild batch, one snapshot). */
  latest?: Map<string, Promise<ArticleRow[]>>;
}

export interface MonthsAhead {
  /** Items per `${key}\u0000${bucket}`. */
  sizes: Map<string, number>;
  /** Paths of the months' archive pages that are public now. */
  live: Set<string>;
  /** Each month's cards, oldest first, by `${key}\u0000${bucket}`. */
  cards: Map<string, ListedCard[]>;
}

/** Reads the context's chrome once; every HTML page rendered from it shows the same header. */
export async function withChrome(ctx: PageContext): Promise<PageContext> {
  ctx.chrome ??= await loadChrome(ctx.db, ctx.renderer.site.submitUrl);
  return ctx;
}

/** An HTML template rendered with the context's chrome (withChrome first, or the header has no sections). */
export function view(ctx: PageContext, template: string, context: Record<string, unknown>): string {
  return ctx.renderer.render(template, { chrome: ctx.chrome, ...context });
}

export function page(
  path: string,
  kind: PageKind,
  body: string,
  contentType: string,
  lastModified: number,
): RenderedPage {
  return { path, kind, op: 'put', body: Buffer.from(body), contentType, lastModified };
}

/** A feed or sitemap: characters XML cannot carry are dropped, so one bad row never breaks the document (producer/xml-text.ts). */
export function xmlPage(path: string, body: string, contentType: string, lastModified: number): RenderedPage {
  return page(path, 'feed', stripXmlForbidden(body), contentType, lastModified);
}
