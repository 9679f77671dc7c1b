// Open publishing and moderation. Anonymous submissions are rate limited per
// address (hashed, never stored in clear) and land as published or held
// according to the site setting; moderators publish, hide (with a reason
// kept in the revision history) or feature. Hiding sets status 'hidden', so
// the next render removes the item from every index and tombstones its page.
import { createHash } from 'node:crypto';
import type { Database } from '../../common/database';
import type { ArticleInput } from '../articles/article-input';
import type { Article, SaveResult } from '../articles/articles-service';
import { TooManyRequestsError } from '../auth/auth-errors';
import { BadRequestError, NotFoundError } from '../errors';
import type { EditorialArticles, RevisionAction } from '../revisions/revisions';
import { addressSalt, readSettings } from './settings';

export const MODERATION_ACTIONS = ['publish', 'hide', 'feature', 'unfeature'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];

export interface SubmissionLimits {
  windowMs: number;
  perAddress: number;
}

export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = { windowMs: 3600_000, perAddress: 5 };

export interface QueueItem {
  submissionId: number;
  state: 'pending' | 'reviewed';
  article: Article;
  submittedAt: number;
}

export interface Moderation {
  submit(input: ArticleInput, address: string): Promise<SaveResult & { held: boolean }>;
  queue(options?: { state?: 'pending' | 'reviewed' | 'all'; limit?: number }): Promise<QueueItem[]>;
  act(articleId: number, action: ModerationAction, userId: number, reason: string): Promise<SaveResult>;
}

export function parseModerationAction(raw: unknown, reason: unknown): { action: ModerationAction; reason: string } {
  if (!MODERATION_ACTIONS.includes(raw as ModerationAction)) throw new BadRequestError(`action must be one of ${MODERATION_ACTIONS.join(', ')}`, 'action');
  if (reason !== undefined && typeof reason !== 'string') throw new BadRequestError('reason must be text', 'reason');
  const text = (reason ?? '').trim();
  if (text.length > 500) throw new BadRequestError('reason is longer than 500 characters', 'reason');
  if (raw === 'hide' && text === '') throw new BadRequestError('hiding needs a reason (it is kept in the history)', 'reason');
  return { action: raw as ModerationAction, reason: text };
}

export function createModeration(deps: { db: Database; articles: EditorialArticles; limits?: SubmissionLimits; now?: () => number }): Moderation {
  const { db, articles, limits = DEFAULT_SUBMISSION_LIMITS, now = Date.now } = deps;
  let salt: Promise<string> | undefined;
  const hashAddress = async (address: string) => createHash('sha256').update(await (salt ??= addressSalt(db))).update(address).digest('hex');

  return {
    async submit(input, address) {
      const settings = await readSettings(db);
      if (settings.openPublishing === 'off') throw new NotFoundError('open publishing');
      const addressHash = await hashAddress(address);
      const since = now() - limits.windowMs;
      const [{ n }] = await db('submissions').where({ address_hash: addressHash }).where('created_at', '>', since).count({ n: '*' });
      if (Number(n) >= limits.perAddress) {
        throw new TooManyRequestsError(`at most ${limits.perAddress} submissions per hour from one address; try again later`, Math.ceil(limits.windowMs / 1000));
      }
      const held = settings.openPublishing === 'held';
      // Strangers choose words, not placement: no slug, no featuring, no status.
      const clean: ArticleInput = { title: input.title, summary: input.summary, body: input.body, tags: input.tags, status: held ? 'draft' : 'published' };
      const saved = await articles.create(clean, null, { actor: { userId: null, action: 'submit' } });
      await db('submissions').insert({ item_type: 'article', item_id: saved.id, state: 'pending', address_hash: addressHash, created_at: now() });
      return { ...saved, held };
    },

    async queue({ state = 'pending', limit = 100 } = {}) {
      const query = db('submissions').where({ item_type: 'article' }).orderBy('id', 'desc').limit(limit).select('id', 'item_id', 'state', 'created_at');
      if (state !== 'all') query.where({ state });
      const rows = await query;
      const items: QueueItem[] = [];
      for (const row of rows) {
        const article = await articles.get(Number(row.item_id)).catch(() => undefined);
        if (article) items.push({ submissionId: Number(row.id), state: row.state, article, submittedAt: Number(row.created_at) });
      }
      return items;
    },

    async act(articleId, action, userId, reason) {
      const changes: Record<ModerationAction, ArticleInput> = {
        publish: { status: 'published' },
        hide: { status: 'hidden' },
        feature: { featured: true },
        unfeature: { featured: false },
      };
      const saved = await articles.update(articleId, changes[action], { actor: { userId, action: action as RevisionAction, reason } });
      await db('submissions').where({ item_type: 'article', item_id: articleId, state: 'pending' }).update({ state: 'reviewed' });
      return saved;
    },
  };
}
