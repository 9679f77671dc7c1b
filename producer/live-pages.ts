// A live article's pages (docs/design.md, "Live coverage"): its own page
// shows the newest LIVE_PAGE_SIZE entries, newest first; older entries are on
// numbered pages that hold a fixed range of entry numbers (common/site-paths.ts),
// so an entry touches its article's page, the JSON of its newest entries
// and at most one numbered page. Open pages poll the JSON from the mirror
// that served them (templates/live.js); a reload is the fallback.
import { sha256Hex } from '../common/hash';
import { articlePath, LIVE_PAGE_SIZE, livePageOf, livePagePath, liveUpdatesPath } from '../common/site-paths';
import type { LiveState } from './affected-pages';
import type { RenderedPage } from './change-journal';
import { ArticleRow, LiveEntryRow, loadArticles } from './item-rows';
import { page, PageContext, view } from './page-view';
import { articleView } from './renderer';
import { articleMeta } from './structured-data';

const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

const fingerprint = (entries: LiveEntryRow[]) =>
  sha256Hex(JSON.stringify(entries.map((e) => [e.id, e.seq, e.postedAt, e.updatedAt]))).slice(0, 16);

/** The dependency model's view of a live article's entries (newest first). Pure. */
export function liveState(entries: LiveEntryRow[]): LiveState {
  const latest = fingerprint(entries.slice(0, LIVE_PAGE_SIZE));
  // Numbered pages exist once the entries no longer fit the article's page.
  if (entries.length <= LIVE_PAGE_SIZE) return { latest, pages: [] };
  const last = livePageOf(Math.max(...entries.map((e) => e.seq)));
  const pages: string[] = [];
  for (let n = 1; n <= last; n++) pages.push(fingerprint(entries.filter((e) => livePageOf(e.seq) === n)));
  return { latest, pages };
}

export interface LiveEntryView {
  id: number;
  seq: number;
  body: string;
  postedAt: number;
  updatedAt: number;
}

/** What the article's page shows of its entries: the newest, and where the older ones start. */
export function liveView(a: ArticleRow) {
  const shown = a.entries.slice(0, LIVE_PAGE_SIZE);
  const older = a.entries[LIVE_PAGE_SIZE];
  return {
    entries: shown.map(entryView),
    updatesUrl: liveUpdatesPath(a.slug),
    earlier: older ? livePagePath(a.slug, livePageOf(older.seq)) : undefined,
  };
}

function entryView(e: LiveEntryRow): LiveEntryView {
  return { id: e.id, seq: e.seq, body: e.body, postedAt: e.postedAt, updatedAt: e.updatedAt };
}

/** The pages a live reference stands for: a numbered page or the JSON, or their tombstone where one was public. */
export async function renderLiveRef(
  ctx: PageContext,
  ref: { kind: 'live-page' | 'live-updates'; id: number; slug: string; page?: number; visible: boolean },
): Promise<RenderedPage | undefined> {
  const path = ref.kind === 'live-page' ? livePagePath(ref.slug, ref.page!) : liveUpdatesPath(ref.slug);
  const [article] = ref.visible ? await loadArticles(ctx.db, [ref.id], { body: true }) : [];
  const state = article?.live && article.status === 'published' ? liveState(article.entries) : undefined;
  if (state && ref.kind === 'live-updates') return updatesPage(ctx, article, path);
  if (state && ref.page! <= state.pages.length) return numberedPage(ctx, article, ref.page!, path);
  const live = await ctx.db('pages').where({ path }).first('op');
  if (!live || live.op !== 'put') return undefined;
  return { ...page(path, 'article', view(ctx, 'gone.njk', { what: 'live page' }), HTML, ctx.now), op: 'gone' };
}

/** Every live page of a visible live article besides its own (the full rebuild). */
export async function livePagesOf(ctx: PageContext, article: ArticleRow): Promise<RenderedPage[]> {
  if (!article.live) return [];
  const pages = [updatesPage(ctx, article, liveUpdatesPath(article.slug))];
  const { pages: numbered } = liveState(article.entries);
  for (let n = 1; n <= numbered.length; n++) pages.push(numberedPage(ctx, article, n, livePagePath(article.slug, n)));
  return pages;
}

/**
 * The newest entries as JSON: each entry's HTML rendered by the template
 * the page uses, so an inserted entry looks like one the page came with.
 * `updated` changes with every entry change: the script compares it.
 */
function updatesPage(ctx: PageContext, a: ArticleRow, path: string): RenderedPage {
  const { entries, earlier } = liveView(a);
  const body = {
    url: articlePath(a.slug),
    updated: new Date(a.liveUpdatedAt ?? a.updatedAt).toISOString(),
    complete: a.entries.length <= LIVE_PAGE_SIZE,
    earlier: earlier ?? null,
    entries: entries.map((e) => ({
      id: e.id,
      postedAt: new Date(e.postedAt).toISOString(),
      updatedAt: new Date(e.updatedAt).toISOString(),
      html: ctx.renderer.render('live-entry.njk', { entry: e }).trim(),
    })),
  };
  return page(path, 'article', `${JSON.stringify(body)}\n`, JSON_TYPE, a.liveUpdatedAt ?? a.updatedAt);
}

/** Page n of older entries: entries n×20−19 to n×20, newest first, linking the page before and the live page. */
function numberedPage(ctx: PageContext, a: ArticleRow, n: number, path: string): RenderedPage {
  const entries = a.entries.filter((e) => livePageOf(e.seq) === n).map(entryView);
  const article = articleView(a);
  // Not the article's modified time: a new entry on a later page would then change this page too.
  const og = {
    ...articleMeta(ctx.renderer.site, article),
    url: ctx.renderer.site.publicUrl + path,
    modifiedAt: undefined,
  };
  const body = view(ctx, 'live-page.njk', {
    article,
    page: n,
    entries,
    earlier: n > 1 ? livePagePath(a.slug, n - 1) : undefined,
    og,
  });
  const modified = entries.reduce((m, e) => Math.max(m, e.updatedAt), a.publishedAt ?? a.updatedAt);
  return page(path, 'article', body, HTML, modified);
}
