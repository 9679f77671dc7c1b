// Storing rendered pages: content-addressed blobs, the pages table and the
// change journal, in the caller's transaction. A page whose bytes hash the
// same as what is live costs nothing: no blob write, no journal entry. A
// text page is stored with its gzip and brotli encodings beside it, each a
// blob of its own, named by the page's row and journal entry
// (common/content-coding.ts), so compression is done once, here.
import type { Knex } from 'knex';
import {
  CODINGS,
  encodeVariants,
  variantColumns,
  VARIANT_COLUMNS,
  wantsVariants,
  type Coding,
  type Variants,
} from '../common/content-coding';
import type { Database } from '../common/db/database';
import type { Op, PageKind } from '../common/feed-format';
import { sha256Hex } from '../common/hash';
import { insertRows } from './bulk-insert';
import { purgeRemovedPages } from './takedown';

export interface RenderedPage {
  path: string;
  kind: PageKind;
  op: Exclude<Op, 'purge'>;
  /** Absent for op=delete. */
  body?: Buffer;
  contentType: string;
  lastModified: number;
  /**
   * The render clock (render_clock) of the listing state the body was
   * rendered from: a page whose live body was rendered at a later clock is
   * left alone. Absent: the clock as the writing transaction sees it.
   */
  clock?: number;
  /** The body's encodings when already made (encodeChangedPages, outside the journal lock); else made when written. */
  encoded?: Record<Coding, Buffer>;
}

export interface BatchResult {
  /** Journal head after the batch; undefined when nothing changed. */
  head?: number;
  written: string[];
  unchanged: string[];
  /** Pages not written because the live body was rendered from newer listing state. */
  superseded: string[];
  /** Blobs purged because an item page this batch removed had served them (producer/takedown.ts). */
  purged: string[];
}

/** Content (articles, media) before the indexes and feeds that link to it. */
const KIND_ORDER: Record<PageKind, number> = { media: 0, article: 1, index: 2, feed: 3 };
const PAGE_COLUMNS = [
  'op',
  'sha256',
  'size',
  'content_type',
  'kind',
  'last_modified',
  'seq',
  'rendered_clock',
  ...VARIANT_COLUMNS,
];

/**
 * Takes the journal lock: the cluster_state row, FOR UPDATE. It serializes
 * journal appends across producers, so sequence order is commit order and a
 * follower never skips a late commit. Taken FIRST in a transaction, it also
 * makes every later read of that transaction see each earlier render's
 * commit (InnoDB's snapshot starts at the first consistent read), so a page
 * rendered under it can never be older than the one it replaces.
 */
export async function lockJournal(trx: Knex.Transaction): Promise<{ epoch: number; head: number }> {
  const state = await trx('cluster_state').where({ id: 1 }).forUpdate().first('epoch', 'journal_head');
  return { epoch: Number(state.epoch), head: Number(state.journal_head) };
}

/** Writes one journal batch; the caller holds lockJournal in `trx`. */
export async function writePages(
  trx: Knex.Transaction,
  lock: { epoch: number; head: number },
  pages: RenderedPage[],
  now: number,
): Promise<BatchResult> {
  const ordered = [...new Map(pages.map((p) => [p.path, p])).values()].sort(
    (a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind],
  );
  let head = lock.head;
  const batch = head + 1;
  const live = await livePages(
    trx,
    ordered.map((p) => p.path),
  );
  const clockNow = ordered.some((p) => p.clock === undefined) ? await renderClock(trx) : 0;
  const written: string[] = [];
  const unchanged: string[] = [];
  const superseded: string[] = [];
  const removed: string[] = [];
  const blobs = new Map<string, Buffer>();
  const pageRows: Record<string, unknown>[] = [];
  const journalRows: Record<string, unknown>[] = [];
  /** Unchanged pages whose body is now known to hold at a later clock, by that clock. */
  const confirmed = new Map<number, string[]>();
  /** Written text pages: their variants' columns are filled in once encoded, all at once. */
  const encoding: { page: RenderedPage; rows: Record<string, unknown>[] }[] = [];
  for (const page of ordered) {
    const sha256 = page.body ? sha256Hex(page.body) : null;
    const current = live.get(page.path);
    const clock = page.clock ?? clockNow;
    // Rendered from older listing state than the live body: an older render never replaces a newer one.
    if (current && current.rendered_clock > clock) {
      superseded.push(page.path);
      continue;
    }
    if (isUnchanged(page, sha256, current)) {
      unchanged.push(page.path);
      // Same bytes at a later clock: a render from a clock in between must not replace them.
      if (current && current.rendered_clock < clock) confirmed.set(clock, [...(confirmed.get(clock) ?? []), page.path]);
      continue;
    }
    if (page.body && sha256) blobs.set(sha256, page.body);
    head += 1;
    const size = page.body?.length ?? 0;
    // The live page and its journal entry describe the same change.
    const change = {
      path: page.path,
      op: page.op,
      sha256,
      size,
      content_type: page.contentType,
      kind: page.kind,
      last_modified: page.lastModified,
      // Filled in by addVariants for a text page; null otherwise (and every row has the same columns).
      ...variantColumns(undefined),
    };
    const pageRow: Record<string, unknown> = { ...change, seq: head, rendered_clock: clock };
    const journalRow: Record<string, unknown> = { ...change, seq: head, epoch: lock.epoch, batch, created_at: now };
    pageRows.push(pageRow);
    journalRows.push(journalRow);
    if (page.body && wantsVariants(page.contentType, page.body.length))
      encoding.push({ page, rows: [pageRow, journalRow] });
    written.push(page.path);
    if (page.kind === 'article' && page.op !== 'put') removed.push(page.path);
  }
  await confirmClocks(trx, confirmed);
  if (written.length === 0) return { written, unchanged, superseded, purged: [] };
  await addVariants(encoding, blobs);
  await insertRows(
    trx,
    'blobs',
    [...blobs].map(([sha256, body]) => ({ sha256, size: body.length, body, created_at: now })),
    { key: ['sha256'], ignore: true },
  );
  // Bytes published again after a takedown are public again.
  if (blobs.size > 0)
    await trx('purged_blobs')
      .whereIn('sha256', [...blobs.keys()])
      .delete();
  await insertRows(trx, 'pages', pageRows, { key: ['path'], update: PAGE_COLUMNS });
  await insertRows(trx, 'journal', journalRows);
  await trx('cluster_state').where({ id: 1 }).update({ journal_head: head });
  lock.head = head;
  // Hide means gone: the removed item pages' old bodies leave every public place, after the pages of this batch.
  const { purged } = await purgeRemovedPages(trx, lock, batch, removed, now);
  return { head: lock.head, written, unchanged, superseded, purged };
}

type LivePage = { op: string; sha256: string | null; rendered_clock: number; gzip_sha256: string | null };

async function livePages(trx: Knex | Knex.Transaction, paths: string[]): Promise<Map<string, LivePage>> {
  const live = new Map<string, LivePage>();
  for (const chunk of chunks(paths, 500))
    for (const row of await trx('pages')
      .whereIn('path', chunk)
      .select('path', 'op', 'sha256', 'rendered_clock', 'gzip_sha256'))
      live.set(row.path as string, { ...row, rendered_clock: Number(row.rendered_clock) });
  return live;
}

/** Nothing to write: deleted and already absent, or the same op and bytes live (with their variants). */
function isUnchanged(page: RenderedPage, sha256: string | null, current: LivePage | undefined): boolean {
  if (page.op === 'delete') return !current || current.op === 'delete';
  return !!current && current.op === page.op && current.sha256 === sha256 && !lacksVariants(page, current);
}

/** A text page live without its variants (rendered before they existed): the same bytes are written again, with them. */
function lacksVariants(page: RenderedPage, current: LivePage): boolean {
  return !!page.body && wantsVariants(page.contentType, page.body.length) && !current.gzip_sha256;
}

/** Encodes the written text pages (in parallel, on the thread pool) and names each encoding in its rows. */
async function addVariants(
  encoding: { page: RenderedPage; rows: Record<string, unknown>[] }[],
  blobs: Map<string, Buffer>,
): Promise<void> {
  await Promise.all(
    encoding.map(async ({ page, rows }) => {
      const encoded = page.encoded ?? (await encodeVariants(page.body as Buffer));
      const variants: Variants = {};
      for (const coding of CODINGS) {
        const sha256 = sha256Hex(encoded[coding]);
        blobs.set(sha256, encoded[coding]);
        variants[coding] = { sha256, size: encoded[coding].length };
      }
      for (const row of rows) Object.assign(row, variantColumns(variants));
    }),
  );
}

/**
 * Encodes, before the journal lock is taken, the text pages whose bytes
 * differ from what is live (or are live without variants), so the lock is
 * not held while brotli works. Pages whose encoding is still missing when
 * written (one changed in between) are encoded then.
 */
export async function encodeChangedPages(db: Knex | Knex.Transaction, pages: RenderedPage[]): Promise<void> {
  const text = pages.filter((p) => p.body && !p.encoded && wantsVariants(p.contentType, p.body.length));
  if (text.length === 0) return;
  const live = await livePages(
    db,
    text.map((p) => p.path),
  );
  await Promise.all(
    text.map(async (page) => {
      const current = live.get(page.path);
      const body = page.body as Buffer;
      if (current && current.sha256 === sha256Hex(body) && !lacksVariants(page, current)) return;
      page.encoded = await encodeVariants(body);
    }),
  );
}

async function confirmClocks(trx: Knex.Transaction, confirmed: Map<number, string[]>): Promise<void> {
  for (const [clock, paths] of confirmed)
    for (const chunk of chunks(paths, 500))
      await trx('pages').whereIn('path', chunk).where('rendered_clock', '<', clock).update({ rendered_clock: clock });
}

/**
 * Takes a render clock of its own (render_clock incremented, held to the
 * commit) and returns it: a listing change or a render that takes it is
 * ordered after every listing step committed before and before every one
 * after, so a page rendered from an older snapshot never replaces its pages
 * (producer/render-group.ts). Taken before the transaction's first read.
 */
export async function takeRenderClock(trx: Knex.Transaction): Promise<number> {
  await trx('render_clock').where({ id: 1 }).increment('clock', 1);
  return renderClock(trx);
}

/** The render clock as `db` sees it (in a transaction: as of its snapshot). */
export async function renderClock(db: Knex | Knex.Transaction): Promise<number> {
  const row = await db('render_clock').where({ id: 1 }).first('clock');
  return Number(row?.clock ?? 0);
}

/** One batch in its own transaction (the journal lock, the pages, then `inTransaction`). */
export async function writeBatch(
  db: Database,
  pages: RenderedPage[],
  options: { now: number; inTransaction?: (trx: Knex.Transaction) => Promise<void> },
): Promise<BatchResult> {
  return db.transaction(async (trx) => {
    const lock = await lockJournal(trx);
    const result = await writePages(trx, lock, pages, options.now);
    await options.inTransaction?.(trx);
    return result;
  });
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
