// Open publishing and moderation. Anonymous submissions are rate limited per
// address (hashed, never stored in clear) and land as published or held
// according to the site setting; moderators publish, hide (with a reason
// kept in the revision history) or feature. Hiding sets status 'hidden', so
// the next render removes the item from every index and tombstones its page.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { ArticleInput } from '../articles/article-input';
import type { SaveResult } from '../articles/articles-service';
import { TooManyRequestsError } from '../auth/auth-errors';
import { BadRequestError, NotFoundError } from '../errors';
import type { EventInput } from '../events/event-input';
import { EditorialArticles, EditorialEvents, RevisionAction } from '../revisions/revisions';
import { addressSalt, readSettings } from './settings';

export const MODERATION_ACTIONS = ['publish', 'hide', 'feature', 'unfeature'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];

export interface SubmissionLimits {
  windowMs: number;
  perAddress: number;
}

export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = { windowMs: 3600_000, perAddress: 5 };

export const SUBMISSION_KINDS = ['article', 'event'] as const;
export type SubmissionKind = (typeof SUBMISSION_KINDS)[number];

/** What a moderator sees of a submitted article or event. */
export interface ModeratedItem {
  id: number;
  title: string;
  summary: string;
  body: string;
  status: string;
  featured: boolean;
  tags: string[];
  url: string;
  startsAt?: string;
  location?: string;
}

export interface QueueItem {
  submissionId: number;
  state: 'pending' | 'reviewed';
  kind: SubmissionKind;
  item: ModeratedItem;
  submittedAt: number;
}

export type Submission = { kind: 'article'; input: ArticleInput } | { kind: 'event'; input: EventInput };

export interface Moderation {
  submit(submission: Submission, address: string): Promise<SaveResult & { held: boolean; kind: SubmissionKind }>;
  queue(options?: { state?: 'pending' | 'reviewed' | 'all'; limit?: number }): Promise<QueueItem[]>;
  act(kind: SubmissionKind, id: number, action: ModerationAction, userId: number, reason: string): Promise<SaveResult>;
}

/** `articles` or `events` in a moderation URL. */
export function parseKind(raw: unknown): SubmissionKind {
  if (raw === 'articles') return 'article';
  if (raw === 'events') return 'event';
  throw new BadRequestError('only articles and events are moderated', 'kind');
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

export function createModeration(deps: {
  db: Database;
  articles: EditorialArticles;
  events?: EditorialEvents;
  limits?: SubmissionLimits;
  now?: () => number;
}): Moderation {
  const { db, articles, events, limits = DEFAULT_SUBMISSION_LIMITS, now = Date.now } = deps;
  let salt: Promise<string> | undefined;
  const hashAddress = async (address: string) =>
    createHash('sha256')
      .update(await (salt ??= addressSalt(db)))
      .update(address)
      .digest('hex');
  const eventsService = (): EditorialEvents => {
    if (!events) throw new NotFoundError('events on this origin');
    return events;
  };

  async function load(kind: SubmissionKind, id: number): Promise<ModeratedItem | undefined> {
    if (kind === 'article') return articles.get(id).catch(() => undefined);
    const e = await eventsService()
      .get(id)
      .catch(() => undefined);
    return (
      e && {
        id: e.id,
        title: e.title,
        summary: e.summary,
        body: e.body,
        status: e.status,
        featured: e.featured,
        tags: e.tags,
        url: e.url,
        startsAt: e.startsAt,
        location: e.location,
      }
    );
  }

  return {
    async submit(submission, address) {
      const settings = await readSettings(db);
      if (settings.openPublishing === 'off') throw new NotFoundError('open publishing');
      if (submission.kind === 'event') eventsService();
      const addressHash = await hashAddress(address);
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
      const held = settings.openPublishing === 'held';
      const status = held ? 'draft' : 'published';
      // Strangers choose words, not placement: no slug, no featuring, no status.
      // The item, its revision and its place in the queue commit together.
      const options = {
        actor: { userId: null, action: 'submit' as const },
        inTransaction: async (trx: Knex.Transaction, id: number) => {
          await trx('submissions').insert({
            item_type: submission.kind,
            item_id: id,
            state: 'pending',
            address_hash: addressHash,
            created_at: now(),
          });
        },
      };
      let saved: SaveResult;
      if (submission.kind === 'article') {
        const { title, summary, body, tags } = submission.input;
        saved = await articles.create({ title, summary, body, tags, status }, null, options);
      } else {
        const { title, summary, body, tags, location, startsAt, endsAt } = submission.input;
        saved = await eventsService().create(
          { title, summary, body, tags, location, startsAt, endsAt, status },
          null,
          options,
        );
      }
      return { ...saved, held, kind: submission.kind };
    },

    async queue({ state = 'pending', limit = 100 } = {}) {
      const query = db('submissions')
        .orderBy('id', 'desc')
        .limit(limit)
        .select('id', 'item_type', 'item_id', 'state', 'created_at');
      if (state !== 'all') query.where({ state });
      const items: QueueItem[] = [];
      for (const row of await query) {
        const kind = row.item_type as SubmissionKind;
        if (kind === 'event' && !events) continue;
        const item = await load(kind, Number(row.item_id));
        if (item)
          items.push({
            submissionId: Number(row.id),
            state: row.state,
            kind,
            item,
            submittedAt: Number(row.created_at),
          });
      }
      return items;
    },

    async act(kind, id, action, userId, reason) {
      const changes = {
        publish: { status: 'published' },
        hide: { status: 'hidden' },
        feature: { featured: true },
        unfeature: { featured: false },
      } as const;
      const actor = { userId, action: action as RevisionAction, reason };
      // The action, its revision and the queue entry leaving the queue commit together.
      const options = {
        actor,
        inTransaction: async (trx: Knex.Transaction) => {
          await trx('submissions')
            .where({ item_type: kind, item_id: id, state: 'pending' })
            .update({ state: 'reviewed' });
        },
      };
      return kind === 'article'
        ? articles.update(id, changes[action], options)
        : eventsService().update(id, changes[action], options);
    },
  };
}
