// The rebuild's item phases (articles, then events): items streamed by id in
// batches (keyset pagination, never the whole table). A batch is read,
// rendered and its listing rows saved while the previous batch's pages are
// written, so the database does both at once.
//
// Safe next to running producers: item pages are rendered outside the
// journal lock but written only if the item's row is still the one that was
// rendered (a newer save's job owns it otherwise); their listing rows are
// written under a lock on the item rows (saveListings).
import { dialectOf, type Database } from '../common/db/database';
import { insertRows } from './bulk-insert';
import { takeRenderClock } from './change-journal';
import { articleState, entriesOf, eventState, serializeState } from './item-state';
import { PageContext, renderCard, renderItem } from './page-renderer';
import { livePagesOf } from './live-pages';
import { renderRedirect } from './redirect-pages';
import { indexDocs, searchDocOf } from './search-index';
import { advance, commitBatch, Listed, Position, PreparedItems, RebuildRun } from './rebuild-run';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './item-rows';

/** One batch of `table`'s items after the cursor (an id); with none left, moves to `next`. */
export async function itemBatch(run: RebuildRun, table: 'articles' | 'events', next: Position): Promise<void> {
  const after = Number(run.state.cursor);
  const ahead = run.readAhead.items;
  const batch =
    ahead?.table === table && ahead.after === after ? await ahead.batch : await prepareItems(run, table, after);
  run.readAhead.items = undefined;
  if (batch.ids.length === 0) return advance(run, next);
  const lastId = batch.ids[batch.ids.length - 1];
  // The next batch is read and rendered while this one is written.
  const following = prepareItems(run, table, lastId);
  following.catch(() => undefined);
  run.readAhead.items = { table, after: lastId, batch: following };
  const { ids, rendered, clock } = batch;
  await commitBatch(run, { phase: run.state.phase, cursor: String(lastId) }, async (trx) => {
    // A save that landed after we read the row wins: its job renders it.
    const current = await trx(table).whereIn('id', ids).select('id', 'updated_at');
    const fresh = current.flatMap((r) => {
      const item = rendered.get(Number(r.id));
      return item && item.updatedAt === Number(r.updated_at) ? [item] : [];
    });
    // Hidden and unpublished items get their tombstone in the sweep, with deleted ones.
    // The search tables follow here; their files are rendered once, in the last phase (rebuild-search.ts).
    await indexDocs(
      trx,
      fresh.map((item) => item.search),
      run.now(),
      { files: false },
    );
    return fresh
      .flatMap((item) => (item.page ? [item.page, ...(item.livePages ?? [])] : []))
      .map((page) => ({ ...page, clock }));
  });
}

async function prepareItems(run: RebuildRun, table: 'articles' | 'events', after: number): Promise<PreparedItems> {
  const { db, renderer, now } = run;
  const ids = (await db(table).where('id', '>', after).orderBy('id').limit(run.batchSize).select('id')).map((r) =>
    Number(r.id),
  );
  const rows =
    table === 'articles' ? await loadArticles(db, ids, { body: true }) : await loadEvents(db, ids, { body: true });
  const topic = table === 'articles' ? 'article' : 'event';
  const rendered: PreparedItems['rendered'] = new Map();
  const ctx: PageContext = { db, renderer, now: now() };
  for (const row of rows) {
    const s = topic === 'article' ? articleState(row as ArticleRow, ctx.now) : eventState(row as EventRow);
    const page = s.visible ? await renderItem(ctx, topic, row, s.slug, true) : undefined;
    // A live article's numbered pages and the JSON open pages poll (producer/live-pages.ts).
    const livePages = page && topic === 'article' ? await livePagesOf(ctx, row as ArticleRow) : [];
    // The redirects at its former slugs name its current page (app/content/slug-redirects.ts).
    if (page)
      for (const slug of s.formerSlugs ?? [])
        livePages.push(
          await renderRedirect(ctx, { kind: 'redirect', topic, id: s.id, slug, to: s.slug, visible: true }),
        );
    rendered.set(row.id, {
      livePages,
      state: s,
      json: serializeState(s),
      card: renderCard(renderer, s),
      page,
      updatedAt: row.updatedAt,
      search: searchDocOf(s, row),
    });
  }
  const clock = await saveListings(db, table, rendered, now());
  return { ids, rendered, clock };
}

/**
 * The batch's listing rows and cards (index_entries, render_state), in their
 * own transaction while the previous batch's pages are written, so the
 * database does both at once. It takes a render clock first, like a render
 * group's listing step (producer/render-group.ts), and returns it: a group
 * whose indexes were rendered before these rows changed holds an older
 * clock, so its pages cannot replace the rebuild's. The item rows are locked
 * next (the order a listing step locks in: the clock, then rows): a save that
 * landed after they were read keeps its newer row (its job renders it), and
 * one that lands meanwhile waits, then its job writes after this. Committed
 * before the batch's cursor, so a resumed rebuild finds them already equal.
 */
async function saveListings(
  db: Database,
  table: 'articles' | 'events',
  rendered: Map<number, Listed>,
  at: number,
): Promise<number> {
  if (rendered.size === 0) return 0;
  const topic = table === 'articles' ? 'article' : 'event';
  const mysql = dialectOf(db) === 'mysql';
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (trx) => {
        const clock = await takeRenderClock(trx);
        const q = trx(table)
          .whereIn('id', [...rendered.keys()])
          .select('id', 'updated_at');
        const current = mysql ? await q.forUpdate() : await q;
        const fresh = current
          .filter((r) => rendered.get(Number(r.id))?.updatedAt === Number(r.updated_at))
          .map((r) => Number(r.id));
        const stored = new Map(
          (
            await trx('render_state').where({ topic }).whereIn('item_id', fresh).select('item_id', 'state', 'card_html')
          ).map((r) => [Number(r.item_id), { state: String(r.state), card: r.card_html }]),
        );
        // Listing rows are rewritten only for items whose state moved; a card also when the templates changed.
        const moved = fresh.filter((id) => stored.get(id)?.state !== rendered.get(id)!.json);
        const changed = fresh.filter(
          (id) => stored.get(id)?.state !== rendered.get(id)!.json || stored.get(id)?.card !== rendered.get(id)!.card,
        );
        if (changed.length === 0) return clock;
        // Items never listed before (a first rebuild) have no rows to replace.
        const listed = moved.filter((id) => stored.has(id));
        if (listed.length) await trx('index_entries').where({ topic }).whereIn('item_id', listed).delete();
        await insertRows(
          trx,
          'index_entries',
          moved.flatMap((id) => entriesOf(rendered.get(id)!.state)),
        );
        // Keep the stored version: it is what keeps an older job from rendering over a newer one.
        const states = changed.map((id) => ({
          topic,
          item_id: id,
          state: rendered.get(id)!.json,
          card_html: rendered.get(id)!.card,
          version: 0,
          rendered_at: at,
        }));
        await insertRows(trx, 'render_state', states, {
          key: ['topic', 'item_id'],
          update: ['state', 'card_html', 'rendered_at'],
        });
        return clock;
      });
    } catch (error) {
      // A render job writing the same item's rows at the same moment: InnoDB picks one to retry.
      if ((error as { code?: string }).code !== 'ER_LOCK_DEADLOCK' || attempt >= 3) throw error;
    }
  }
}
