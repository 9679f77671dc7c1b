// Revision history: every save of an article or event records a snapshot
// with who did it, what they did and why (a moderator's reason for hiding).
// The revision is written INSIDE the save's transaction (the services'
// `inTransaction` step), so a save and its history commit together: a crash
// between them can no longer keep the edit and lose who made it. An editor
// restores a revision by saving its snapshot again, which is itself a new
// revision, so history is never rewritten.
//
// An autosave (the editor's, while someone types) is a revision too, with
// action 'autosave': a snapshot of the item with the form's text in it,
// written WITHOUT touching the item, so it publishes and renders nothing.
// A person's autosaves since the item's last real save replace each other,
// so typing leaves one autosave in the history, not one every few seconds.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { AuditAction, AuditLog } from '../audit/audit-log';
import { BadRequestError, NotFoundError } from '../errors';
import type { ItemInput } from './item-input';
import type { Item, ItemKind, ItemSnapshot } from './item-kind';
import type { ItemService, SaveChange, SaveOptions, SaveResult } from './item-service';
import { readItem, refuseDeleted } from './item-service';
import { notesOf } from './item-notes';
import { insertId } from './item-writes';
import { sanitizeBody } from './sanitize';

export const REVISION_ACTIONS = [
  'create',
  'edit',
  'restore',
  'submit',
  'publish',
  'unpublish',
  'hide',
  'unhide',
  'schedule',
  'feature',
  'unfeature',
  'note',
  'autosave',
  'delete',
] as const;
export type RevisionAction = (typeof REVISION_ACTIONS)[number];

/** What each action reads as in a history: what the save did. */
export const REVISION_LABELS: Record<RevisionAction, string> = {
  create: 'created',
  edit: 'edited',
  restore: 'restored',
  submit: 'submitted',
  publish: 'published',
  unpublish: 'unpublished',
  hide: 'hidden',
  unhide: 'unhidden',
  schedule: 'scheduled',
  feature: 'featured',
  unfeature: 'unfeatured',
  note: 'note added',
  autosave: 'autosaved',
  delete: 'deleted',
};

/**
 * What a save did, when its caller did not say (a moderation action, a
 * restore, a note and the scheduler do): a save that moves the status is
 * named for the move, so publishing from the edit form reads "published",
 * not "edited" (issue 16). `fallback` is 'schedule' for a save that set
 * or cleared a scheduled publication or take-down, 'edit' for another.
 */
export function savedAction(fallback: RevisionAction, before: string | undefined, after: string): RevisionAction {
  if ((fallback !== 'edit' && fallback !== 'schedule') || before === undefined || before === after) return fallback;
  if (after === 'published') return 'publish';
  if (after === 'hidden') return 'hide';
  return before === 'hidden' ? 'unhide' : 'unpublish';
}

/** Revisions that leave the item's text as it was: an autosave since the last save stays the one to offer back across them. */
const TEXT_UNCHANGED: RevisionAction[] = ['autosave', 'note'];

export interface Revision<S = ItemSnapshot> {
  /** The row id (site-wide): kept in the API for reference; URLs name a revision by its number. */
  id: number;
  /** 1, 2, 3… per item, in the order its saves were made (a replaced autosave leaves a gap). */
  number: number;
  itemType: ItemKind['name'];
  itemId: number;
  user: string | null;
  action: RevisionAction;
  /** The action as it reads in a history: created, edited, published, hidden, restored… */
  label: string;
  reason: string;
  snapshot: S;
  createdAt: number;
}

/** Who is saving, and why; recorded with the revision. */
export interface Actor {
  userId: number | null;
  action?: RevisionAction;
  reason?: string;
}

/**
 * Who is acting in the current request, for saves that do not name an actor
 * (the JSON API's item routes call the plain service interface).
 */
export const actorContext = new AsyncLocalStorage<Actor>();

export interface EditorialSaveOptions extends SaveOptions {
  actor?: Actor;
}

/** An item service recording a revision in each save's transaction, with the history it offers. */
export interface EditorialService<
  I extends ItemInput = ItemInput,
  T extends Item = Item,
  S = ItemSnapshot,
> extends ItemService<I, T> {
  create(input: I, authorId: number | null, options?: EditorialSaveOptions): Promise<SaveResult>;
  update(id: number, input: I, options?: EditorialSaveOptions): Promise<SaveResult>;
  revisions(id: number): Promise<Revision<S>[]>;
  /** Revision number `number` of item `id`. */
  revision(id: number, number: number): Promise<Revision<S>>;
  /** The revision before `number` (undefined for the first). */
  previousRevision(id: number, number: number): Promise<Revision<S> | undefined>;
  /** What a revision records of the item as it is now. */
  currentSnapshot(id: number): Promise<S>;
  restore(id: number, number: number, userId: number | null): Promise<SaveResult>;
  /** Records the form's text as an autosave revision of item `id` (`revision` is its number); the item itself is not changed. */
  autosave(id: number, input: I, userId: number): Promise<{ revision: number; savedAt: number }>;
  /** The item's newest revision when it is an autosave (newer than its last save), else undefined. */
  pendingAutosave(id: number): Promise<Revision<S> | undefined>;
}

/** The fields an autosave records from the form: the words being typed. */
function autosavedText(input: ItemInput): Partial<ItemSnapshot> {
  const text: Partial<ItemSnapshot> = {};
  if (input.title !== undefined) text.title = input.title;
  if (input.summary !== undefined) text.summary = input.summary;
  if (input.body !== undefined) text.body = sanitizeBody(input.body);
  if (input.tags !== undefined) text.tags = input.tags;
  return text;
}

/** What a revision records of `item`: the shared fields, the kind's own, the lead image. */
export function snapshotOf<T extends Item, S extends ItemSnapshot>(kind: ItemKind<ItemInput, T, S>, item: T): S {
  const { slug, title, summary, body, tags, status, featured } = item;
  return {
    slug,
    title,
    summary,
    body,
    ...kind.ownSnapshot(item),
    tags,
    status,
    featured,
    leadImage: item.leadImage?.sha256 ?? null,
    leadImageAlt: item.leadImage?.alt ?? '',
  } as S;
}

/**
 * The number of the item's next revision. The caller's transaction holds
 * the item's row lock (a save's update takes it; an autosave takes it
 * here), so concurrent saves of one item number one after the other; the
 * locking read sees the latest committed number, not the transaction's
 * snapshot. The unique (item_type, item_id, number) index backs this up.
 */
async function nextNumber(trx: Knex.Transaction, itemType: ItemKind['name'], id: number): Promise<number> {
  const revisions = () => trx('revisions').where({ item_type: itemType, item_id: id });
  // An item with no revision yet was created by this very save (no other can see it): 1, without the
  // locking read, whose gap lock on an empty range made concurrent creates deadlock on MariaDB.
  if (!(await revisions().first('id'))) return 1;
  const row = await revisions().max('number as n').forUpdate().first();
  return Number(row?.n ?? 0) + 1;
}

/** Deletes `userId`'s autosaves of the item since its last text-changing revision and records `snapshot` as the new one. */
async function replaceAutosave(
  trx: Knex.Transaction,
  itemType: ItemKind['name'],
  id: number,
  snapshot: unknown,
  userId: number,
  savedAt: number,
  table: string,
): Promise<number> {
  await trx(table).where({ id }).forUpdate().first('id');
  // Numbered before the replaced autosave goes: a number is never given to other text, so a page
  // naming #N (a diff, a restore confirmation) always means the same revision.
  const number = await nextNumber(trx, itemType, id);
  const last = await trx('revisions')
    .where({ item_type: itemType, item_id: id })
    .whereNotIn('action', TEXT_UNCHANGED)
    .max('id as id')
    .first();
  await trx('revisions')
    .where({ item_type: itemType, item_id: id, action: 'autosave', user_id: userId })
    .where('id', '>', Number(last?.id ?? 0))
    .delete();
  await insertId(trx, 'revisions', {
    item_type: itemType,
    item_id: id,
    number,
    user_id: userId,
    action: 'autosave',
    reason: '',
    snapshot: JSON.stringify(snapshot),
    created_at: savedAt,
  });
  return number;
}

/** Reads and writes of the revisions table for one item type. */
function historyStore<S>(db: Database, kind: ItemKind, now: () => number) {
  const itemType = kind.name;
  function toRevision(row: Record<string, unknown>): Revision<S> {
    const action = row.action as RevisionAction;
    return {
      id: Number(row.id),
      number: Number(row.number),
      itemType,
      itemId: Number(row.item_id),
      user: (row.user_name as string | null) ?? null,
      action,
      label: REVISION_LABELS[action] ?? action,
      reason: row.reason as string,
      snapshot: JSON.parse(row.snapshot as string) as S,
      createdAt: Number(row.created_at),
    };
  }
  const select = () =>
    db('revisions').leftJoin('users', 'users.id', 'revisions.user_id').select('revisions.*', 'users.name as user_name');
  return {
    async insert(trx: Knex.Transaction, id: number, snapshot: S, actor: Actor, action: RevisionAction): Promise<void> {
      await trx('revisions').insert({
        item_type: itemType,
        item_id: id,
        number: await nextNumber(trx, itemType, id),
        user_id: actor.userId,
        action,
        reason: (actor.reason ?? '').slice(0, 500),
        snapshot: JSON.stringify(snapshot),
        created_at: now(),
      });
    },
    /** The status the item's latest revision recorded (undefined before its first). */
    async lastStatus(trx: Knex.Transaction, id: number): Promise<string | undefined> {
      const row = await trx('revisions')
        .where({ item_type: itemType, item_id: id })
        .whereNot({ action: 'autosave' })
        .orderBy('id', 'desc')
        .first('snapshot');
      return row ? (JSON.parse(String(row.snapshot)) as { status?: string }).status : undefined;
    },
    async list(id: number): Promise<Revision<S>[]> {
      return (
        await select().where({ item_type: itemType, item_id: id }).orderBy('revisions.id', 'desc').limit(200)
      ).map(toRevision);
    },
    /** Replaces `userId`'s autosaves of the item since its last save with this one. */
    async autosave(id: number, snapshot: S, userId: number): Promise<{ revision: number; savedAt: number }> {
      const savedAt = now();
      const revision = await db.transaction((trx) =>
        replaceAutosave(trx, itemType, id, snapshot, userId, savedAt, kind.plural),
      );
      return { revision, savedAt };
    },
    /** The newest revision that may have changed the text: a note (a correction or a desk note) does not. */
    async newest(id: number): Promise<Revision<S> | undefined> {
      const [row] = await select()
        .where({ item_type: itemType, item_id: id })
        .whereNot({ action: 'note' })
        .orderBy('revisions.id', 'desc')
        .limit(1);
      return row ? toRevision(row) : undefined;
    },
    async get(id: number, number: number): Promise<Revision<S>> {
      const [row] = await select().where({ number, item_type: itemType, item_id: id });
      if (!row) throw new NotFoundError(`revision ${number} of ${itemType} ${id}`);
      return toRevision(row);
    },
    async before(id: number, number: number): Promise<Revision<S> | undefined> {
      const [row] = await select()
        .where({ item_type: itemType, item_id: id })
        .where('number', '<', number)
        .orderBy('number', 'desc')
        .limit(1);
      return row ? toRevision(row) : undefined;
    },
  };
}

/**
 * What a save goes in the audit log as: a moderation action or a restore as
 * itself; any other save as a publish or a hide when it changed the status
 * to published or hidden (or to deleted); nothing for a plain edit.
 */
export function auditedAction(
  action: RevisionAction,
  before: string | undefined,
  after: string,
): AuditAction | undefined {
  if (action === 'publish' || action === 'hide' || action === 'feature' || action === 'unfeature') return action;
  if (action === 'delete' || (after === 'deleted' && before !== after)) return 'delete';
  if (action === 'restore') return 'restore';
  if (before === after) return undefined;
  if (after === 'published') return 'publish';
  if (after === 'hidden') return 'hide';
  return undefined;
}

/**
 * The caller's step (a submission record, a correction note), then the
 * revision, all in one transaction: the revision's snapshot sees what the
 * caller's step wrote (app/content/item-notes.ts).
 */
function withRevisionStep(
  options: EditorialSaveOptions | undefined,
  fallbackActor: Actor,
  fallback: RevisionAction,
  record: (
    trx: Knex.Transaction,
    id: number,
    actor: Actor,
    fallback: RevisionAction,
    change?: SaveChange,
  ) => Promise<void>,
): SaveOptions {
  const actor = options?.actor ?? actorContext.getStore() ?? fallbackActor;
  return {
    due: options?.due,
    inTransaction: async (trx, id, change) => {
      await options?.inTransaction?.(trx, id, change);
      await record(trx, id, actor, fallback, change);
    },
  };
}

/** A restored snapshot's lead image, if the media is still there (it never leaves, but a hand-edited database might). */
async function restorableLeadImage(db: Database, snapshot: { leadImage?: string | null; leadImageAlt?: string }) {
  const sha256 = snapshot.leadImage ?? null;
  const exists = sha256 === null || Boolean(await db('media').where({ sha256, kind: 'image' }).first('sha256'));
  return { leadImage: exists ? sha256 : null, leadImageAlt: snapshot.leadImageAlt ?? '' };
}

/** Records a save's revision (named for what it did) and its audit rows, inside the save's transaction. */
function revisionRecorder<I extends ItemInput, T extends Item, S extends ItemSnapshot>(
  kind: ItemKind<I, T, S>,
  history: ReturnType<typeof historyStore<S>>,
  audit: AuditLog | undefined,
) {
  return async (trx: Knex.Transaction, id: number, actor: Actor, fallback: RevisionAction, change?: SaveChange) => {
    const item = await readItem(kind, trx, id);
    const snapshot = snapshotOf(kind, item);
    // Notes are kept in history with the item (only once it has any, so older snapshots read the same).
    const notes = await notesOf(trx, kind.name, id);
    if (notes.length > 0) Object.assign(snapshot, { notes });
    const before = await history.lastStatus(trx, id);
    const done = actor.action ?? savedAction(fallback, before, snapshot.status);
    await history.insert(trx, id, snapshot, actor, done);
    const action = auditedAction(done, before, snapshot.status);
    if (!audit || (!action && !change?.previousSlug)) return;
    const user = actor.userId === null ? undefined : await trx('users').where({ id: actor.userId }).first('name');
    const who = actor.userId === null ? null : { id: actor.userId, name: (user?.name as string | undefined) ?? null };
    const target = `${kind.name}:${id}`;
    const title = snapshot.title.slice(0, 100);
    if (action)
      await audit.record(trx, {
        action,
        actor: who,
        target,
        detail: { title, ...(actor.reason ? { reason: actor.reason } : {}) },
      });
    // A new URL (and, for a page that was public, a redirect from the old one) is an editorial act of its own.
    if (change?.previousSlug)
      await audit.record(trx, {
        action: 'slug_changed',
        actor: who,
        target,
        detail: { title, from: change.previousSlug, to: item.slug, redirected: item.publishedAt !== null },
      });
  };
}

/** `items` (of any kind), recording a revision in each save's transaction. */
export function withRevisions<I extends ItemInput, T extends Item, S extends ItemSnapshot>(
  items: ItemService<I, T>,
  db: Database,
  now: () => number = Date.now,
  audit?: AuditLog,
): EditorialService<I, T, S> {
  const kind = items.kind as unknown as ItemKind<I, T, S>;
  const history = historyStore<S>(db, kind, now);
  const record = revisionRecorder(kind, history, audit);

  const service: EditorialService<I, T, S> = {
    kind: items.kind,
    get: (id) => items.get(id),
    list: (options) => items.list(options),
    create: (input, authorId, options) =>
      items.create(input, authorId, withRevisionStep(options, { userId: authorId }, 'create', record)),
    update: (id, input, options) => {
      const scheduling = input.publishAt !== undefined || input.unpublishAt !== undefined;
      return items.update(
        id,
        input,
        withRevisionStep(options, { userId: null }, scheduling ? 'schedule' : 'edit', record),
      );
    },
    revisions: (id) => history.list(id),
    async autosave(id, input, userId) {
      const item = await readItem(kind, db, id);
      refuseDeleted(kind, item);
      return history.autosave(id, { ...snapshotOf(kind, item), ...autosavedText(input) }, userId);
    },
    async pendingAutosave(id) {
      const newest = await history.newest(id);
      return newest?.action === 'autosave' ? newest : undefined;
    },
    revision: (id, number) => history.get(id, number),
    previousRevision: (id, number) => history.before(id, number),
    async currentSnapshot(id) {
      const snapshot = snapshotOf(kind, await readItem(kind, db, id));
      const notes = await notesOf(db, kind.name, id);
      return notes.length > 0 ? { ...snapshot, notes } : snapshot;
    },
    async restore(id, number, userId) {
      const { snapshot } = await history.get(id, number);
      const own = snapshot && typeof snapshot.title === 'string' ? await kind.restoreFields(db, snapshot) : undefined;
      if (!own) throw new BadRequestError('that revision has no content to restore', 'revision');
      const { title, summary, body, tags, status, featured } = snapshot;
      const lead = await restorableLeadImage(db, snapshot);
      return service.update(id, { title, summary, body, ...own, tags, status, featured, ...lead } as I, {
        actor: { userId, action: 'restore', reason: `restored revision ${number}` },
      });
    },
  };
  return service;
}
