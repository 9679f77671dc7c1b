// One coalesced render: every save a producer claimed (producer/render-claims.ts)
// rendered together, journaled as one batch. Four steps, and only the last
// holds the journal lock:
//   1. read the items and render their pages and cards (no transaction);
//   2. the listing step (short): take the render clock, write the items'
//      listing rows and states, stage each page beside its state;
//   3. render every affected index, feed and sitemap page once for the whole
//      group, in one read snapshot, outside any lock (the parallel part);
//   4. the journal append: under the journal lock, write what is not older
//      than what is live, content before indexes, as one batch.
// Correctness across producers (docs/design.md, "Invariants"):
//   - the render clock orders listing steps; a page remembers the clock of
//     the snapshot it was rendered from (pages.rendered_clock), and a body
//     rendered at an older clock never replaces it;
//   - an item's page is journaled only by the group whose listing step is
//     the item's latest (render_state.state_clock);
//   - an index listing an item whose page is not journaled yet (another
//     group's, between its steps 2 and 4) journals that item's staged page
//     in the same batch, so no batch links to a page a mirror lacks;
//   - render_state.unindexed keeps every state index pages may still show
//     until a batch has rendered them, so a group that dies between steps 2
//     and 4 is rendered again in full by whoever claims its saves next.
import type { Knex } from 'knex';
import { Database, dialectOf } from '../common/db/database';
import { isUnrecoverable, UnrecoverableJobError } from '../common/queue/render-queue';
import { affectedPages, mergeRefs, PageRef } from './affected-pages';
import { insertRows } from './bulk-insert';
import {
  BatchResult,
  chunks,
  encodeChangedPages,
  lockJournal,
  RenderedPage,
  renderClock,
  takeRenderClock,
  writePages,
} from './change-journal';
import { articleState, eventState, parseState, serializeState, StoredState } from './item-state';
import { ArticleRow, EventRow, loadArticles, loadEvents } from './item-rows';
import { saveListingStates } from './listing-state';
import { missingMirrorsPage } from './mirror-list-page';
import { HTML, PageContext, renderCard, renderItem, renderRef, siteFilePages, siteWideRefs } from './page-renderer';
import { type Chrome, loadChrome } from './site-chrome';
import { Claim, ClaimedItem, settleClaim } from './render-claims';
import { indexDocs, searchDocOf } from './search-index';
import type { Renderer } from './renderer';

export interface GroupDeps {
  db: Database;
  renderer: Renderer;
  now: () => number;
  /** The header's chrome, read once per group (renderGroup sets it). */
  chrome?: Chrome;
}

/** What one group did; pages per save = written.length / saves. */
export interface GroupResult {
  /** Items whose listing state and pages this group rendered. */
  items: number;
  /** Outbox rows (saves) the group closed. */
  saves: number;
  /** Pages rendered (item pages, indexes, feeds, sitemaps). */
  rendered: number;
  batch: BatchResult;
  /** Items that failed for good (template or data error): closed and reported by the caller. */
  failures: { item: ClaimedItem; error: unknown }[];
}

interface Prepared {
  item: ClaimedItem;
  row: ArticleRow | EventRow;
  /** The row as read, to tell whether it changed before the listing step. */
  json: string;
  state: StoredState;
  card: string;
  page?: RenderedPage;
}

const itemKey = (topic: string, id: number) => `${topic}:${id}`;

/** Renders a claimed group (see the top of this file). */
export async function renderGroup(groupDeps: GroupDeps, claim: Claim): Promise<GroupResult> {
  const at = groupDeps.now();
  const deps = {
    ...groupDeps,
    chrome: groupDeps.chrome ?? (await loadChrome(groupDeps.db, groupDeps.renderer.site.submitUrl)),
  };
  const failures: GroupResult['failures'] = [];
  const empty = { written: [], unchanged: [], superseded: [], purged: [] };
  const prepared = await prepare(deps, deps.db, claim.items, at, failures);
  if (prepared.length === 0) return { items: 0, saves: 0, rendered: 0, batch: empty, failures };
  const listed = await listingStep(deps, prepared, at, failures);
  const failed = new Set(failures.map((f) => itemKey(f.item.topic, f.item.itemId)));
  if (listed.items.length === 0) {
    // Every item was already rendered at a newer version: nothing to journal.
    const saves = await deps.db.transaction((trx) => settleClaim(trx, claim, listed.stale, failed, at));
    return { items: 0, saves, rendered: 0, batch: empty, failures };
  }
  const siteWide = await siteWideRefs(deps.db);
  const indexes = await renderIndexes(deps, mergeRefs([listed.refs, siteWide]), listed.own, at);
  // Compression is CPU work too: done here, in parallel across groups, not under the journal lock.
  await encodeChangedPages(deps.db, [
    ...listed.items.flatMap((p) => (p.page ? [p.page] : [])),
    ...indexes.pages.map((p) => p.page),
  ]);
  const { batch, saves } = await journalStep(deps, { claim, failed }, listed, indexes, at);
  return {
    items: listed.items.length,
    saves,
    rendered: listed.items.filter((p) => p.page).length + indexes.pages.length,
    batch,
    failures,
  };
}

/** Step 4: under the journal lock, one batch of what is not older than what is live; the group's saves are done. */
async function journalStep(
  deps: GroupDeps,
  { claim, failed }: { claim: Claim; failed: Set<string> },
  listed: Listed,
  indexes: { sv: number; pages: { page: RenderedPage; owner?: string }[] },
  at: number,
): Promise<{ batch: BatchResult; saves: number }> {
  return deps.db.transaction(async (trx) => {
    const lock = await lockJournal(trx);
    const current = await currentItems(trx, listed.items, listed.clock);
    // Every page links the stylesheet and the mirror list: both are live before the first page that does.
    const pages: RenderedPage[] = [
      ...siteFilePages(deps.renderer, at),
      ...(await missingMirrorsPage(trx, deps.renderer, at)),
    ];
    for (const p of listed.items) if (current.has(key(p)) && p.page) pages.push({ ...p.page, clock: listed.clock });
    // The search index follows the items journaled as current, in this batch (producer/search-index.ts).
    pages.push(
      ...(await indexDocs(
        trx,
        listed.items.filter((p) => current.has(key(p))).map((p) => searchDocOf(p.state, p.row)),
        at,
      )),
    );
    for (const { page, owner } of indexes.pages) {
      // An item's tombstone belongs to the item's latest listing step, like its page.
      if (owner !== undefined && !current.has(owner)) continue;
      pages.push({ ...page, clock: owner !== undefined ? listed.clock : indexes.sv });
    }
    const borrowed = await linkedPagesOf(trx, pages);
    const result = await writePages(
      trx,
      lock,
      [...pages.filter((p) => !borrowed.dropped.has(p.path)), ...borrowed.pages],
      at,
    );
    await settleStates(trx, listed.items, current, listed.clock, borrowed.staged);
    const saves = await settleClaim(trx, claim, new Set([...current, ...listed.stale]), failed, at);
    return { batch: result, saves };
  });
}

async function loadRows(
  db: Knex | Knex.Transaction,
  items: ClaimedItem[],
): Promise<Map<string, ArticleRow | EventRow>> {
  const ids = (topic: string) => items.filter((i) => i.topic === topic).map((i) => i.itemId);
  const rows = new Map<string, ArticleRow | EventRow>();
  for (const r of await loadArticles(db, ids('article'), { body: true })) rows.set(itemKey('article', r.id), r);
  for (const r of await loadEvents(db, ids('event'), { body: true })) rows.set(itemKey('event', r.id), r);
  return rows;
}

/** Step 1: each item's state, card and page, rendered from its row. A template or data error fails that item alone. */
async function prepare(
  deps: GroupDeps,
  db: Knex | Knex.Transaction,
  items: ClaimedItem[],
  at: number,
  failures: GroupResult['failures'],
): Promise<Prepared[]> {
  const rows = await loadRows(db, items);
  const out: Prepared[] = [];
  for (const item of items) {
    const row = rows.get(itemKey(item.topic, item.itemId));
    try {
      if (!row) throw new UnrecoverableJobError(`${item.topic} ${item.itemId} does not exist`);
      out.push(await prepareOne(deps, item, row, at));
    } catch (error) {
      if (!isUnrecoverable(error)) throw error;
      failures.push({ item, error });
    }
  }
  return out;
}

async function prepareOne(
  deps: GroupDeps,
  item: ClaimedItem,
  row: ArticleRow | EventRow,
  at: number,
): Promise<Prepared> {
  const state = item.topic === 'article' ? articleState(row as ArticleRow, at) : eventState(row as EventRow);
  const card = renderCard(deps.renderer, state);
  const ctx: PageContext = { db: deps.db, renderer: deps.renderer, now: at, chrome: deps.chrome };
  const page = state.visible ? await renderItem(ctx, item.topic, row, state.slug, true) : undefined;
  return { item, row, json: JSON.stringify(row), state, card, page };
}

interface Listed {
  clock: number;
  items: Prepared[];
  refs: PageRef[];
  /** `topic:id:slug` of the items whose own page the group renders from their rows. */
  own: Map<string, string>;
  /** `topic:id` of the items a later listing step already listed at a newer version (their saves are done). */
  stale: Set<string>;
}

/** Step 2: the listing step, one short transaction ordered by the render clock. */
async function listingStep(
  deps: GroupDeps,
  prepared: Prepared[],
  at: number,
  failures: GroupResult['failures'],
): Promise<Listed> {
  return deps.db.transaction(async (trx) => {
    // Taken first and held to the commit: listing steps commit in clock order, and this
    // transaction's snapshot (its first read, below) sees every earlier one.
    const clock = await takeRenderClock(trx);
    const rows = await loadRows(
      trx,
      prepared.map((p) => p.item),
    );
    const items: Prepared[] = [];
    for (const p of prepared) {
      const row = rows.get(itemKey(p.item.topic, p.item.itemId));
      if (!row) {
        failures.push({
          item: p.item,
          error: new UnrecoverableJobError(`${p.item.topic} ${p.item.itemId} does not exist`),
        });
        continue;
      }
      // Saved again since step 1: render what is there now (rare; under this step's lock).
      items.push(JSON.stringify(row) === p.json ? p : await prepareOne(deps, p.item, row, at));
    }
    const previous = await previousStates(trx, items);
    // Monotonic: a group never takes an item back to a version older than the one stored.
    // Sorted (topic, then id): the order the journal step locks these rows in (currentItems).
    const fresh = items
      .filter((p) => !(Number(previous.get(key(p))?.version ?? -1) > p.item.upTo))
      .sort((a, b) => a.item.topic.localeCompare(b.item.topic) || a.item.itemId - b.item.itemId);
    await saveListingStates(
      trx,
      fresh.map((p) => p.state),
    );
    const refs: PageRef[][] = [];
    const stateRows = fresh.map((p) => {
      const before = previous.get(key(p));
      // Every state an index page may still show: the one the indexes were last rendered
      // from and any a group that did not finish wrote since (null: never rendered).
      const shown: (string | null)[] = before
        ? [...new Set([...(before.unindexed ? (JSON.parse(before.unindexed) as (string | null)[]) : []), before.state])]
        : [null];
      for (const s of shown) refs.push(affectedPages(s === null ? undefined : parseState(s), p.state));
      return {
        topic: p.item.topic,
        item_id: p.item.itemId,
        state: serializeState(p.state),
        card_html: p.card,
        version: p.item.upTo,
        rendered_at: at,
        state_clock: clock,
        unindexed: JSON.stringify(shown),
        staged_path: p.page?.path ?? null,
        staged_body: p.page?.body ?? null,
        staged_modified: p.page?.lastModified ?? null,
      };
    });
    await insertRows(trx, 'render_state', stateRows, {
      key: ['topic', 'item_id'],
      update: Object.keys(stateRows[0] ?? {}).filter((c) => c !== 'topic' && c !== 'item_id'),
    });
    const own = new Map(fresh.map((p) => [`${p.item.topic}:${p.item.itemId}:${p.state.slug}`, key(p)]));
    const stale = new Set(items.filter((p) => !fresh.includes(p)).map(key));
    return { clock, items: fresh, refs: mergeRefs(refs), own, stale };
  });
}

const key = (p: Prepared) => itemKey(p.item.topic, p.item.itemId);

async function previousStates(
  trx: Knex.Transaction,
  items: Prepared[],
): Promise<Map<string, { state: string; unindexed: string | null; version: number }>> {
  const out = new Map<string, { state: string; unindexed: string | null; version: number }>();
  for (const topic of ['article', 'event'] as const) {
    const ids = items.filter((p) => p.item.topic === topic).map((p) => p.item.itemId);
    for (const chunk of chunks(ids, 500)) {
      const rows = await trx('render_state')
        .where({ topic })
        .whereIn('item_id', chunk)
        .select('item_id', 'state', 'unindexed', 'version');
      for (const r of rows)
        out.set(itemKey(topic, Number(r.item_id)), {
          state: String(r.state),
          unindexed: r.unindexed == null ? null : String(r.unindexed),
          version: Number(r.version),
        });
    }
  }
  return out;
}

/** Step 3: the group's index, feed, sitemap and tombstone pages, in one read snapshot; `sv` is its clock. */
async function renderIndexes(
  deps: GroupDeps,
  refs: PageRef[],
  own: Map<string, string>,
  at: number,
): Promise<{ sv: number; pages: { page: RenderedPage; owner?: string }[] }> {
  return deps.db.transaction(async (trx) => {
    const sv = await renderClock(trx);
    const ctx: PageContext = {
      db: trx,
      renderer: deps.renderer,
      now: at,
      chrome: deps.chrome,
      titles: new Map(),
      latest: new Map(),
    };
    const pages: { page: RenderedPage; owner?: string }[] = [];
    for (const ref of refs) {
      if (ref.kind === 'item' && ref.visible && own.has(`${ref.topic}:${ref.id}:${ref.slug}`)) continue;
      // A live article's own pages, and the redirects at an item's former slugs, belong to it like its page and tombstone.
      const owner =
        ref.kind === 'item' || ref.kind === 'redirect'
          ? itemKey(ref.topic, ref.id)
          : ref.kind === 'live-page' || ref.kind === 'live-updates'
            ? itemKey('article', ref.id)
            : undefined;
      for (const page of await renderRef(ctx, ref)) pages.push({ page, owner });
    }
    return { sv, pages };
  });
}

/**
 * Listing steps commit without the journal lock, so the journal step's reads
 * of render_state lock the rows (MariaDB; SQLite has one writer): a listing
 * step that changes an item waits for this batch, or this batch sees its newer
 * state_clock. A snapshot read here let a hide commit and render its indexes
 * (seeing no live page, so no tombstone) before this batch journaled the
 * item's visible page: the article stayed public. Rows are locked in one
 * order (topic, then id), the order the listing step writes them in.
 */
function locking<T extends Knex.QueryBuilder>(trx: Knex.Transaction, q: T): T {
  return (dialectOf(trx) === 'mysql' ? q.orderBy(['topic', 'item_id']).forUpdate() : q) as T;
}

/** The group's items whose latest listing step is the group's own (render_state.state_clock). */
async function currentItems(trx: Knex.Transaction, items: Prepared[], clock: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const topic of ['article', 'event'] as const) {
    const ids = items
      .filter((p) => p.item.topic === topic)
      .map((p) => p.item.itemId)
      .sort((a, b) => a - b);
    for (const chunk of chunks(ids, 500)) {
      const rows = await locking(
        trx,
        trx('render_state').where({ topic }).whereIn('item_id', chunk).select('item_id', 'state_clock'),
      );
      for (const r of rows) if (Number(r.state_clock) === clock) out.add(itemKey(topic, Number(r.item_id)));
    }
  }
  return out;
}

/** Item links an index, feed or sitemap body carries (root-relative, or absolute in feeds and sitemaps). */
const ITEM_LINK = /(?:href="|<link>|<loc>|<guid[^>]*>)(?:https?:\/\/[^/"<]+)?(\/(?:news|event)\/[^"<#?\s]+)/g;

export function itemLinks(body: Buffer): string[] {
  return [...new Set([...body.toString('utf8').matchAll(ITEM_LINK)].map((m) => m[1]))];
}

/**
 * The item pages this batch's indexes link that are not live yet: staged by
 * another group between its listing step and its journal append. They join
 * this batch (so no index here links to a page a mirror lacks). An index
 * linking a page that is neither live nor staged (its item changed since
 * this group's snapshot) is dropped: the group that changed it renders that
 * index again from a later snapshot.
 */
async function linkedPagesOf(
  trx: Knex.Transaction,
  pages: RenderedPage[],
): Promise<{
  pages: RenderedPage[];
  dropped: Set<string>;
  staged: { topic: string; itemId: number; clock: number }[];
}> {
  const inBatch = new Set(pages.filter((p) => p.op === 'put').map((p) => p.path));
  const links = new Map<string, string[]>();
  for (const p of pages)
    if (p.op === 'put' && p.body && (p.kind === 'index' || p.kind === 'feed'))
      links.set(
        p.path,
        itemLinks(p.body).filter((l) => !inBatch.has(l)),
      );
  const wanted = [...new Set([...links.values()].flat())];
  const live = new Set<string>();
  for (const chunk of chunks(wanted, 500))
    for (const r of await trx('pages').whereIn('path', chunk).where({ op: 'put' }).select('path'))
      live.add(String(r.path));
  const missing = wanted.filter((l) => !live.has(l));
  const borrowed: RenderedPage[] = [];
  const staged: { topic: string; itemId: number; clock: number }[] = [];
  for (const chunk of chunks(missing, 200)) {
    const rows = await locking(
      trx,
      trx('render_state')
        .whereIn('staged_path', chunk)
        .whereNotNull('staged_body')
        .select('topic', 'item_id', 'state_clock', 'staged_path', 'staged_body', 'staged_modified'),
    );
    for (const r of rows) {
      if (inBatch.has(String(r.staged_path))) continue;
      inBatch.add(String(r.staged_path));
      const clock = Number(r.state_clock);
      staged.push({ topic: String(r.topic), itemId: Number(r.item_id), clock });
      borrowed.push({
        path: String(r.staged_path),
        kind: 'article',
        op: 'put',
        body: Buffer.from(r.staged_body as Buffer),
        contentType: HTML,
        lastModified: Number(r.staged_modified),
        clock,
      });
    }
  }
  const dropped = new Set(
    [...links].filter(([, l]) => l.some((path) => !live.has(path) && !inBatch.has(path))).map(([p]) => p),
  );
  return { pages: borrowed, dropped, staged };
}

/** After the append: the group's items' indexes are current, and journaled staged pages are no longer needed. */
async function settleStates(
  trx: Knex.Transaction,
  items: Prepared[],
  current: Set<string>,
  clock: number,
  staged: { topic: string; itemId: number; clock: number }[],
): Promise<void> {
  const clear = { staged_path: null, staged_body: null, staged_modified: null };
  for (const topic of ['article', 'event'] as const) {
    const ids = items.filter((p) => p.item.topic === topic && current.has(key(p))).map((p) => p.item.itemId);
    for (const chunk of chunks(ids, 500))
      await trx('render_state')
        .where({ topic, state_clock: clock })
        .whereIn('item_id', chunk)
        .update({ ...clear, unindexed: null });
  }
  for (const s of staged)
    await trx('render_state').where({ topic: s.topic, item_id: s.itemId, state_clock: s.clock }).update(clear);
}
