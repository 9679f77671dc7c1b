// Entries of a live article (docs/api.md, "Live coverage"): each add, edit
// or delete is a save like any other, the entry and the article's "owes a
// render" outbox row in ONE transaction (docs/design.md, "Publish path"),
// so the producer re-renders the live page, the page of older entries that
// holds the entry and the feeds that show the article as updated
// (producer/affected-pages.ts), and nothing else.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { ITEM_LIMITS, jsonObject, refuseUnknownFields, text } from '../content/item-input';
import { parseDateTime } from '../content/date-time';
import { sanitizeBody } from '../content/sanitize';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import { refuseDeleted } from '../content/item-service';
import { oweRenders } from '../outbox/outbox';
import { insertId } from '../content/item-writes';
import { journalShownMedia } from '../media/shown-media';

export interface LiveEntry {
  id: number;
  articleId: number;
  /** The entry's number within the article: 1 for the first, never reused. */
  seq: number;
  body: string;
  /** RFC 3339, UTC. */
  postedAt: string;
  updatedAt: string;
}

export interface EntryInput {
  body?: string;
  /** When the entry happened, if not now (a back-filled entry). */
  postedAt?: number;
}

const ENTRY_FIELDS = ['body', 'postedAt'] as const;

/** Checks a JSON body for POST (body required) or PUT (every field optional); errors name the field. Pure. */
export function parseEntryInput(raw: unknown, mode: 'create' | 'update'): EntryInput {
  const b = jsonObject(raw);
  refuseUnknownFields(b, ENTRY_FIELDS);
  const input: EntryInput = {};
  if (b.body !== undefined || mode === 'create') {
    const body = sanitizeBody(text(b.body, 'body', ITEM_LIMITS.body, { lines: 'multi' }));
    // Markup the sanitizer removed entirely (a lone <script>) leaves nothing to show.
    if (body.replace(/<[^>]*>/g, '').trim() === '' && !/<(img|audio|video)\b/i.test(body))
      throw new BadRequestError('body must not be empty', 'body');
    input.body = body;
  }
  if (b.postedAt !== undefined) input.postedAt = parseDateTime(b.postedAt, 'postedAt');
  return input;
}

type Db = Database | Knex.Transaction;

function entryOf(r: Record<string, unknown>): LiveEntry {
  return {
    id: Number(r.id),
    articleId: Number(r.article_id),
    seq: Number(r.seq),
    body: String(r.body),
    postedAt: new Date(Number(r.posted_at)).toISOString(),
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
  };
}

/** An article's entries, newest first (the order readers see them in). */
export async function listEntries(db: Db, articleId: number): Promise<LiveEntry[]> {
  if (!(await db('articles').where({ id: articleId }).first('id'))) throw new NotFoundError(`article ${articleId}`);
  const rows = await db('live_entries')
    .where({ article_id: articleId })
    .orderBy([
      { column: 'posted_at', order: 'desc' },
      { column: 'seq', order: 'desc' },
    ]);
  return rows.map(entryOf);
}

/** The article row, locked: entries of one article are numbered one save at a time. */
async function liveArticle(trx: Knex.Transaction, articleId: number): Promise<{ live_seq: number }> {
  const article = await trx('articles').where({ id: articleId }).forUpdate().first('id', 'status', 'live', 'live_seq');
  if (!article) throw new NotFoundError(`article ${articleId}`);
  refuseDeleted({ name: 'article' }, article);
  if (!article.live)
    throw new ConflictError(`article ${articleId} is not a live page: set "live": true on it first`, 'live');
  return { live_seq: Number(article.live_seq) };
}

/**
 * Marks the article changed by an entry and owes its render, in the entry's
 * transaction; media the entry's body shows go out with it when the article
 * is published (app/media/shown-media.ts), before the render that links them.
 */
async function touch(trx: Knex.Transaction, articleId: number, at: number, seq?: number, body?: string): Promise<void> {
  await trx('articles')
    .where({ id: articleId })
    .update({ updated_at: at, live_updated_at: at, ...(seq === undefined ? {} : { live_seq: seq }) });
  if (body !== undefined) {
    const { status } = await trx('articles').where({ id: articleId }).first('status');
    await journalShownMedia(trx, { status, body }, at);
  }
  await oweRenders(trx, [{ topic: 'article', itemId: articleId }], at);
}

export async function addEntry(
  trx: Knex.Transaction,
  articleId: number,
  input: EntryInput,
  at: number,
): Promise<LiveEntry> {
  const { live_seq } = await liveArticle(trx, articleId);
  const seq = live_seq + 1;
  const row = { article_id: articleId, seq, body: input.body!, posted_at: input.postedAt ?? at, updated_at: at };
  const id = await insertId(trx, 'live_entries', row);
  await touch(trx, articleId, at, seq, row.body);
  return entryOf({ ...row, id });
}

async function lockedEntry(
  trx: Knex.Transaction,
  articleId: number,
  entryId: number,
): Promise<Record<string, unknown>> {
  const entry = await trx('live_entries').where({ id: entryId, article_id: articleId }).forUpdate().first();
  if (!entry) throw new NotFoundError(`entry ${entryId} of article ${articleId}`);
  return entry;
}

export async function editEntry(
  trx: Knex.Transaction,
  articleId: number,
  entryId: number,
  input: EntryInput,
  at: number,
): Promise<LiveEntry> {
  await liveArticle(trx, articleId);
  const entry = await lockedEntry(trx, articleId, entryId);
  const changes = {
    updated_at: at,
    ...(input.body === undefined ? {} : { body: input.body }),
    ...(input.postedAt === undefined ? {} : { posted_at: input.postedAt }),
  };
  await trx('live_entries').where({ id: entryId }).update(changes);
  await touch(trx, articleId, at, undefined, input.body);
  return entryOf({ ...entry, ...changes });
}

export async function deleteEntry(
  trx: Knex.Transaction,
  articleId: number,
  entryId: number,
  at: number,
): Promise<{ id: number; deleted: true }> {
  await liveArticle(trx, articleId);
  await lockedEntry(trx, articleId, entryId);
  await trx('live_entries').where({ id: entryId }).delete();
  await touch(trx, articleId, at);
  return { id: entryId, deleted: true };
}
