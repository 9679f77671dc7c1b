// Item writes and reads, for every kind (app/content/item-kind.ts). Each
// save writes the content and its "owes a render" outbox row in ONE
// transaction (docs/design.md, "Publish path"): once the caller is
// answered, the render is owed even if Redis, the producer or this process
// dies right after.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { authorIds, authorsOf, setItemAuthors } from '../auth/people';
import { runSaveHooks } from '../db/idempotency';
import { ConflictError, NotFoundError } from '../errors';
import { leadImageChanges, leadImagesOf } from '../media/lead-image';
import { journalShownMedia } from '../media/shown-media';
import { oweRenders } from '../outbox/outbox';
import type { ItemInput, StoredStatus } from './item-input';
import type { Item, ItemKind, ItemSnapshot, Reader, Row } from './item-kind';
import { freeSlug, insertId, saveTransaction, setTags, translateUniqueViolation } from './item-writes';
import { DueChange, dueChanges, scheduleChanges } from '../schedule/schedule-rules';
import { sanitizeBody } from './sanitize';
import { slugify } from './slug';
import { changeSlug, claimSlug } from './slug-redirects';

export interface SaveResult {
  id: number;
  slug: string;
  url: string;
}

/** What the save changed that its caller's step records (the audit log, app/content/item-revisions.ts). */
export interface SaveChange {
  /** The slug the item had before this save renamed it (app/content/slug-redirects.ts). */
  previousSlug?: string;
}

/** What a caller adds to a save's transaction. */
export interface SaveOptions {
  /**
   * Runs inside the save's transaction once the row, its tags and its
   * outbox row are written (the revision history, a submission record):
   * if it fails the whole save rolls back, so they commit together or not at all.
   */
  inTransaction?: (trx: Knex.Transaction, id: number, change?: SaveChange) => Promise<void>;
  /**
   * The save applies a scheduled change instead of `input` (app/schedule/scheduler.ts):
   * only if it is still due on the locked row, else NotDueError and nothing is written.
   */
  due?: DueChange;
  /**
   * The caller wakes the outbox relay itself once all its saves are written:
   * the scheduler applies every change due at one instant and then wakes it
   * once, so the producer claims them as one group at once. Woken per save,
   * it claimed the first alone and the rest, arriving while it rendered,
   * waited as a burst (producer/burst-pacing.ts) for up to a second and a half.
   */
  wakeLater?: boolean;
}

export interface ItemService<I extends ItemInput = ItemInput, T extends Item = Item> {
  /** The declaration this service saves and reads. */
  kind: ItemKind<I, T, ItemSnapshot>;
  create(input: I, authorId: number | null, options?: SaveOptions): Promise<SaveResult>;
  update(id: number, input: I, options?: SaveOptions): Promise<SaveResult>;
  get(id: number): Promise<T>;
  /** Newest first; without a status, every item but the deleted ones. */
  list(options: { status?: StoredStatus; limit: number; offset: number }): Promise<T[]>;
}

export interface ItemServiceDeps {
  db: Database;
  now?: () => number;
  /** Called after a save commits, to wake the outbox relay at once. */
  onSaved?: () => void;
}

export function createItemService<I extends ItemInput, T extends Item, S extends ItemSnapshot>(
  kind: ItemKind<I, T, S>,
  { db, now = Date.now, onSaved }: ItemServiceDeps,
): ItemService<I, T> {
  return {
    kind: kind as ItemKind<I, T, ItemSnapshot>,
    async create(input, authorId, options) {
      const at = now();
      const result = await saveTransaction(db, async (trx) => {
        const { id, slug } = await insertItem(trx, kind, input, authorId, at);
        // Signed by the creating user unless the input names the authors (an anonymous submission: nobody).
        if (input.authors === undefined && authorId !== null) await setItemAuthors(trx, kind.name, id, [authorId]);
        return finishSave(trx, kind, { id, slug, created: true }, input, at, options);
      }).catch(translateUniqueViolation);
      onSaved?.();
      return result;
    },

    async update(id, input, options) {
      const at = now();
      const result = await saveTransaction(db, async (trx) => {
        const { slug, previousSlug } = await updateItem(trx, kind, id, input, at, options?.due);
        return finishSave(trx, kind, { id, slug, previousSlug }, input, at, options);
      }).catch(translateUniqueViolation);
      if (!options?.wakeLater) onSaved?.();
      return result;
    },

    get: (id) => readItem(kind, db, id),

    async list({ status, limit, offset }) {
      const query = kind.select(db).orderBy(`${kind.plural}.id`, 'desc').limit(limit).offset(offset);
      if (status) query.where(`${kind.plural}.status`, status);
      else query.whereNot(`${kind.plural}.status`, 'deleted');
      return withTags(kind, db, await query);
    },
  };
}

async function insertItem<I extends ItemInput>(
  trx: Knex.Transaction,
  kind: ItemKind<I, Item, ItemSnapshot>,
  input: I,
  authorId: number | null,
  at: number,
): Promise<{ id: number; slug: string }> {
  let slug: string;
  if (input.slug !== undefined) {
    await claimSlug(trx, kind, input.slug);
    slug = input.slug;
  } else {
    slug = await freeSlug(trx, kind, slugify(input.title ?? ''), kind.name);
  }
  const status = input.status ?? 'draft';
  const lead = await leadImageChanges(trx, input);
  const id = await insertId(trx, kind.plural, {
    ...lead,
    slug,
    title: input.title,
    summary: input.summary ?? '',
    body: sanitizeBody(input.body ?? ''),
    ...(await kind.createColumns(trx, input)),
    author_id: authorId,
    status,
    featured: input.featured ?? false,
    published_at: status === 'published' ? at : null,
    ...scheduleChanges(null, input, at),
    created_at: at,
    updated_at: at,
  });
  return { id, slug };
}

/** Applies an update to the locked row; returns its slug and, when the update changed it, the one it had. */
async function updateItem<I extends ItemInput>(
  trx: Knex.Transaction,
  kind: ItemKind<I, Item, ItemSnapshot>,
  id: number,
  input: I,
  at: number,
  due?: DueChange,
): Promise<{ slug: string; previousSlug?: string }> {
  const current = await trx(kind.plural).where({ id }).forUpdate().first();
  if (!current) throw new NotFoundError(`${kind.name} ${id}`);
  if (due) {
    await trx(kind.plural)
      .where({ id })
      .update({ updated_at: at, ...dueChanges(current, due) });
    return { slug: current.slug as string };
  }
  refuseDeleted(kind, current);
  const changes: Row = { updated_at: at, ...(await kind.updateColumns(trx, input, current)) };
  const renamed = input.slug !== undefined && input.slug !== current.slug;
  if (renamed) {
    await changeSlug(trx, kind, current, input.slug!, at);
    changes.slug = input.slug;
  }
  if (input.title !== undefined) changes.title = input.title;
  if (input.summary !== undefined) changes.summary = input.summary;
  if (input.body !== undefined) changes.body = sanitizeBody(input.body);
  if (input.featured !== undefined) changes.featured = input.featured;
  if (input.status !== undefined) {
    changes.status = input.status;
    if (input.status === 'published' && current.published_at == null) changes.published_at = at;
  }
  Object.assign(changes, scheduleChanges(current, input, at));
  Object.assign(changes, await leadImageChanges(trx, input));
  await trx(kind.plural).where({ id }).update(changes);
  return renamed ? { slug: input.slug!, previousSlug: current.slug as string } : { slug: current.slug as string };
}

/** 409 for a deleted item (a tombstone): it is kept for the record, never changed again. */
export function refuseDeleted(kind: Pick<ItemKind, 'name'>, current: { id?: unknown; status?: unknown }): void {
  if (current.status === 'deleted')
    throw new ConflictError(`${kind.name} ${String(current.id)} is deleted: it can no longer be changed`, 'id');
}

/** Tags, the owed render, the caller's step and the idempotency key: all in the save's transaction. */
async function finishSave<I extends ItemInput>(
  trx: Knex.Transaction,
  kind: ItemKind<I, Item, ItemSnapshot>,
  { id, slug, created = false, previousSlug }: { id: number; slug: string; created?: boolean; previousSlug?: string },
  input: I,
  at: number,
  options: SaveOptions | undefined,
): Promise<SaveResult> {
  if (input.tags) await setTags(trx, kind.tagLink, id, input.tags, { created });
  if (input.authors) await setItemAuthors(trx, kind.name, id, await authorIds(trx, input.authors));
  // The media a published item shows go out before its render (a scheduled item's only when it is published).
  await journalShownMedia(trx, await trx(kind.plural).where({ id }).first('status', 'lead_image', 'body'), at);
  await oweRenders(trx, [{ topic: kind.name, itemId: id }], at);
  await options?.inTransaction?.(trx, id, { previousSlug });
  const saved = { id, slug, url: kind.path(slug) };
  // The request's idempotency key commits with the save, or not at all.
  await runSaveHooks(trx, saved);
  return saved;
}

/** One item, read through `db` (or a save's transaction, to see its own writes). */
export async function readItem<T extends Item>(
  kind: ItemKind<ItemInput, T, ItemSnapshot>,
  db: Reader,
  id: number,
): Promise<T> {
  const [item] = await withTags(kind, db, await kind.select(db).where(`${kind.plural}.id`, id));
  if (!item) throw new NotFoundError(`${kind.name} ${id}`);
  return item;
}

async function withTags<T extends Item>(
  kind: ItemKind<ItemInput, T, ItemSnapshot>,
  db: Reader,
  rows: Row[],
): Promise<T[]> {
  const { table, column } = kind.tagLink;
  const ids = rows.map((r) => Number(r.id));
  const tagRows = ids.length
    ? await db(table)
        .join('tags', 'tags.id', `${table}.tag_id`)
        .whereIn(`${table}.${column}`, ids)
        .select(`${table}.${column} as item_id`, 'tags.name')
        .orderBy('tags.name')
    : [];
  const leads = await leadImagesOf(db, rows);
  const authors = await authorsOf(db, kind.name, ids);
  return rows.map((r, i) =>
    kind.toItem(
      r,
      tagRows.filter((t) => Number(t.item_id) === Number(r.id)).map((t) => t.name as string),
      leads[i],
      authors.get(Number(r.id)) ?? [],
    ),
  );
}
