// Open publishing and moderation. Anonymous submissions are rate limited per
// address (hashed, never stored in clear) and land as published or held
// according to the site setting; moderators publish or hide them (with a
// reason kept in the revision history), editors and admins also feature or
// act on any item (moderationRefusal). Hiding sets status 'hidden', so
// the next render removes the item from every index and tombstones its page.
// Deleting sets status 'deleted': the same tombstone for readers, and the
// row is kept for the record, never edited again (app/content/item-service.ts).
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { ItemInput } from '../content/item-input';
import type { Item, ModeratedItem } from '../content/item-kind';
import { EditorialItems, ITEM_KINDS, ItemKindName, kindOfPlural, serviceOf } from '../content/item-kinds';
import type { SaveResult } from '../content/item-service';
import type { RevisionAction } from '../content/item-revisions';
import { ForbiddenError, TooManyRequestsError } from '../auth/auth-errors';
import type { Role, User } from '../auth/users';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import { addressSalt, readSettings } from './settings';

export const MODERATION_ACTIONS = ['publish', 'hide', 'feature', 'unfeature', 'delete'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];

export interface SubmissionLimits {
  windowMs: number;
  perAddress: number;
}

export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = { windowMs: 3600_000, perAddress: 5 };

export type SubmissionKind = ItemKindName;

export interface QueueItem {
  submissionId: number;
  state: 'pending' | 'reviewed';
  kind: SubmissionKind;
  item: ModeratedItem;
  submittedAt: number;
}

/** An anonymous submission: the kind, and its input as the kind's parser read it. */
export interface Submission {
  kind: SubmissionKind;
  input: ItemInput;
}

export interface Moderation {
  submit(submission: Submission, address: string): Promise<SaveResult & { held: boolean; kind: SubmissionKind }>;
  queue(options?: { state?: 'pending' | 'reviewed' | 'all'; limit?: number }): Promise<QueueItem[]>;
  /** 403 when `user`'s role may not take `action` on this item (moderationRefusal). */
  act(
    kind: SubmissionKind,
    id: number,
    action: ModerationAction,
    user: Pick<User, 'id' | 'role'>,
    reason: string,
  ): Promise<SaveResult>;
  /**
   * The same action on several items of one kind (the editor's bulk
   * actions): every item is checked first, and one that is missing (404) or
   * that `user` may not act on (403, naming it) refuses the whole request
   * before anything changes; then each item is saved in its own
   * transaction, in the order given.
   */
  actOnMany(
    kind: SubmissionKind,
    ids: readonly number[],
    action: ModerationAction,
    user: Pick<User, 'id' | 'role'>,
    reason: string,
  ): Promise<SaveResult[]>;
  /** Where the item stands in the queue: its submission's state, or undefined for an item nobody submitted. */
  submissionState(kind: SubmissionKind, id: number): Promise<SubmissionState | undefined>;
}

export type SubmissionState = 'pending' | 'reviewed';

/** What moderation rules look at: the item's status and whether (and how far) it came through the queue. */
export interface ModerationTarget {
  status: string;
  featured: boolean;
  submission: SubmissionState | undefined;
}

/**
 * Why `role` may not take `action` on `target`, or undefined when it may
 * (docs/operations.md, "Roles"). Editors and admins may take any action.
 * Moderators act on the queue only: on submissions, publishing one still
 * pending (not hidden) and hiding any; never featuring, never publishing
 * someone else's draft, never publishing again what was hidden (an admin
 * may have hidden it for a legal reason). Deleting follows the same line:
 * a moderator may delete a submission, not one that was hidden. A deleted
 * item takes no action from anyone (its row is a tombstone).
 */
export function moderationRefusal(role: Role, action: ModerationAction, target: ModerationTarget): string | undefined {
  if (target.status === 'deleted' && action !== 'delete') return 'this item is deleted: nothing changes it any more';
  if (role === 'admin' || role === 'editor') return undefined;
  if (!target.submission)
    return 'moderators act on submissions in the moderation queue only; this item was not submitted there';
  if (action === 'feature' || action === 'unfeature') return 'featuring needs an editor or admin';
  if (action === 'publish' && target.status === 'hidden')
    return 'publishing a hidden item again needs an editor or admin (it may have been hidden for a legal reason)';
  if (action === 'delete' && target.status === 'hidden')
    return 'deleting a hidden item needs an editor or admin (it may have been hidden for a legal reason)';
  if (action === 'publish' && target.submission !== 'pending')
    return 'this submission was already reviewed; publishing it now needs an editor or admin';
  return undefined;
}

/** The actions `role` may take on `target` that would change something (the buttons a page offers). */
export function allowedModerationActions(role: Role, target: ModerationTarget): ModerationAction[] {
  return MODERATION_ACTIONS.filter((action) => {
    if (moderationRefusal(role, action, target)) return false;
    if (action === 'publish') return target.status !== 'published';
    if (action === 'hide') return target.status !== 'hidden';
    if (action === 'delete') return target.status !== 'deleted';
    return action === (target.featured ? 'unfeature' : 'feature');
  });
}

/** `articles` or `events` in a moderation URL. */
export function parseKind(raw: unknown): SubmissionKind {
  return kindOfPlural(raw, `only ${ITEM_KINDS.map((k) => k.plural).join(' and ')} are moderated`).name;
}

/** A form field people never see and form-filling bots fill in. */
export const HONEYPOT_FIELD = 'website';

export function parseModerationAction(raw: unknown, reason: unknown): { action: ModerationAction; reason: string } {
  if (!MODERATION_ACTIONS.includes(raw as ModerationAction))
    throw new BadRequestError(`action must be one of ${MODERATION_ACTIONS.join(', ')}`, 'action');
  if (reason !== undefined && typeof reason !== 'string') throw new BadRequestError('reason must be text', 'reason');
  const text = (reason ?? '').trim();
  if (text.length > 500) throw new BadRequestError('reason is longer than 500 characters', 'reason');
  if (raw === 'hide' && text === '')
    throw new BadRequestError('hiding needs a reason (it is kept in the history)', 'reason');
  return { action: raw as ModerationAction, reason: text };
}

const ACTION_CHANGES = {
  publish: { status: 'published' },
  hide: { status: 'hidden' },
  feature: { featured: true },
  unfeature: { featured: false },
  // A pending schedule goes with it: the scheduler never publishes a tombstone.
  delete: { status: 'deleted', publishAt: null, unpublishAt: null },
} as const;

export interface ModerationDeps {
  db: Database;
  /** The editorial services of the kinds this origin has. */
  items: EditorialItems;
  limits?: SubmissionLimits;
  now?: () => number;
}

export function createModeration(deps: ModerationDeps): Moderation {
  const { db, items, now = Date.now } = deps;
  const limited = rateLimit(deps);
  return {
    async submit(submission, address) {
      const settings = await readSettings(db);
      if (settings.openPublishing === 'off') throw new NotFoundError('open publishing');
      const service = serviceOf(items, submission.kind);
      const addressHash = await limited(address);
      const held = settings.openPublishing === 'held';
      const status = held ? 'draft' : 'published';
      // Strangers choose words, not placement: no slug, no featuring, no status.
      const words = service.kind.submissionFields.map((f) => [f, submission.input[f as keyof ItemInput]]);
      // The item, its revision and its place in the queue commit together.
      const saved = await service.create({ ...Object.fromEntries(words), status }, null, {
        actor: { userId: null, action: 'submit' },
        inTransaction: async (trx: Knex.Transaction, id: number) => {
          await trx('submissions').insert({
            item_type: submission.kind,
            item_id: id,
            state: 'pending',
            address_hash: addressHash,
            created_at: now(),
          });
        },
      });
      return { ...saved, held, kind: submission.kind };
    },

    async queue({ state = 'pending', limit = 100 } = {}) {
      const query = db('submissions')
        .orderBy('id', 'desc')
        .limit(limit)
        .select('id', 'item_type', 'item_id', 'state', 'created_at');
      if (state !== 'all') query.where({ state });
      const queued: QueueItem[] = [];
      for (const row of await query) {
        const service = items.find((s) => s.kind.name === row.item_type);
        if (!service) continue;
        const item = await service
          .get(Number(row.item_id))
          .then((found) => service.kind.moderated(found))
          .catch(() => undefined);
        if (item)
          queued.push({
            submissionId: Number(row.id),
            state: row.state,
            kind: service.kind.name,
            item,
            submittedAt: Number(row.created_at),
          });
      }
      return queued;
    },

    submissionState: (kind, id) => submissionState(db, kind, id),

    async act(kind, id, action, user, reason) {
      const item = await checkAction(deps, kind, id, action, user);
      if (action === 'delete' && item.status === 'deleted') return savedAs(items, kind, item);
      return applyAction(items, kind, id, action, user, reason);
    },

    async actOnMany(kind, ids, action, user, reason) {
      const checked = [];
      for (const id of ids)
        checked.push(await checkAction(deps, kind, id, action, user, ids.length > 1 ? `${kind} ${id}: ` : ''));
      const saved: SaveResult[] = [];
      for (const item of checked)
        saved.push(
          // Deleting what is already deleted changes nothing (a repeated request), and records nothing.
          action === 'delete' && item.status === 'deleted'
            ? savedAs(items, kind, item)
            : await applyAction(items, kind, item.id, action, user, reason),
        );
      return saved;
    },
  };
}

/**
 * The item, or 404 when it is missing, 409 when it is deleted (and the
 * action is not delete), 403 (with `prefix` before the reason) when `user`
 * may not take `action` on it.
 */
async function checkAction(
  { db, items }: ModerationDeps,
  kind: SubmissionKind,
  id: number,
  action: ModerationAction,
  user: Pick<User, 'role'>,
  prefix = '',
): Promise<Item> {
  const item = await serviceOf(items, kind).get(id);
  const refusal = moderationRefusal(user.role, action, {
    status: item.status,
    featured: item.featured,
    submission: await submissionState(db, kind, id),
  });
  if (refusal && item.status === 'deleted') throw new ConflictError(`${prefix}${kind} ${id}: ${refusal}`, 'action');
  if (refusal) throw new ForbiddenError(prefix + refusal);
  return item;
}

/** The answer of a save that had nothing to do. */
function savedAs(items: EditorialItems, kind: SubmissionKind, item: Item): SaveResult {
  return { id: item.id, slug: item.slug, url: serviceOf(items, kind).kind.path(item.slug) };
}

/** Takes `action` on one item: the change, its revision and the item leaving the queue, in one transaction. */
async function applyAction(
  items: EditorialItems,
  kind: SubmissionKind,
  id: number,
  action: ModerationAction,
  user: Pick<User, 'id'>,
  reason: string,
): Promise<SaveResult> {
  const service = serviceOf(items, kind);
  const actor = { userId: user.id, action: action as RevisionAction, reason };
  // The action, its revision and the queue entry leaving the queue commit together.
  return service.update(id, ACTION_CHANGES[action], {
    actor,
    inTransaction: async (trx: Knex.Transaction) => {
      await trx('submissions').where({ item_type: kind, item_id: id, state: 'pending' }).update({ state: 'reviewed' });
    },
  });
}

/** The most items one bulk action takes (a page of the editor's list is 25). */
export const BULK_LIMIT = 100;

/** The item ids of a bulk action: one id or a list (a form's checkboxes, a JSON array), each a positive integer, at most BULK_LIMIT, no repeats. */
export function parseBulkIds(raw: unknown): number[] {
  const list = Array.isArray(raw) ? raw : raw === undefined || raw === '' ? [] : [raw];
  if (list.length === 0) throw new BadRequestError('choose at least one item', 'ids');
  if (list.length > BULK_LIMIT) throw new BadRequestError(`at most ${BULK_LIMIT} items at a time`, 'ids');
  const ids = list.map((v) => {
    const text = typeof v === 'number' ? String(v) : v;
    if (typeof text !== 'string' || !/^[1-9]\d{0,9}$/.test(text))
      throw new BadRequestError('ids must be item numbers (positive integers)', 'ids');
    return Number(text);
  });
  if (new Set(ids).size !== ids.length) throw new BadRequestError('ids names an item twice', 'ids');
  return ids;
}

async function submissionState(db: Database, kind: SubmissionKind, id: number): Promise<SubmissionState | undefined> {
  const row = await db('submissions').where({ item_type: kind, item_id: id }).orderBy('id', 'desc').first('state');
  return row ? (row.state as SubmissionState) : undefined;
}

/** Counts an address's recent submissions (hashed, never stored in clear); returns the hash, or 429. */
function rateLimit({ db, limits = DEFAULT_SUBMISSION_LIMITS, now = Date.now }: ModerationDeps) {
  let salt: Promise<string> | undefined;
  return async (address: string): Promise<string> => {
    const addressHash = createHash('sha256')
      .update(await (salt ??= addressSalt(db)))
      .update(address)
      .digest('hex');
    const since = now() - limits.windowMs;
    const [{ n }] = await db('submissions')
      .where({ address_hash: addressHash })
      .where('created_at', '>', since)
      .count({ n: '*' });
    if (Number(n) >= limits.perAddress) {
      throw new TooManyRequestsError(
        `at most ${limits.perAddress} submissions per hour from one address; try again later`,
        Math.ceil(limits.windowMs / 1000),
      );
    }
    return addressHash;
  };
}
