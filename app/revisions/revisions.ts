// Revision history: every save of an article records a snapshot with who
// did it, what they did and why (a moderator's reason for hiding). An editor
// restores a revision by saving its snapshot again, which is itself a new
// revision, so history is never rewritten. The revision is written right
// after the save commits (the articles service owns the save transaction).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database } from '../../common/database';
import type { ArticleInput } from '../articles/article-input';
import type { Article, ArticlesService, SaveResult } from '../articles/articles-service';
import type { EventsService } from '../events/events-service';
import { BadRequestError, NotFoundError } from '../errors';

export const REVISION_ACTIONS = ['create', 'edit', 'restore', 'submit', 'publish', 'hide', 'feature', 'unfeature'] as const;
export type RevisionAction = (typeof REVISION_ACTIONS)[number];

export interface ArticleSnapshot {
  title: string;
  summary: string;
  body: string;
  section: string | null;
  tags: string[];
  status: Article['status'];
  featured: boolean;
  /** Absent in revisions recorded before lead images existed: restored as "no lead image". */
  leadImage?: string | null;
  leadImageAlt?: string;
}

export interface Revision {
  id: number;
  itemType: 'article';
  itemId: number;
  user: string | null;
  action: RevisionAction;
  reason: string;
  snapshot: ArticleSnapshot;
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
 * (the JSON API's article routes call the plain service interface).
 */
export const actorContext = new AsyncLocalStorage<Actor>();

export interface EditorialSaveOptions {
  actor?: Actor;
}

/** The articles service, recording a revision after each save. */
export interface EditorialArticles extends ArticlesService {
  create(input: ArticleInput, authorId: number | null, options?: EditorialSaveOptions): Promise<SaveResult>;
  update(id: number, input: ArticleInput, options?: EditorialSaveOptions): Promise<SaveResult>;
  revisions(id: number): Promise<Revision[]>;
  revision(id: number, revisionId: number): Promise<Revision>;
  restore(id: number, revisionId: number, userId: number | null): Promise<SaveResult>;
}

export function snapshotOf(article: Article): ArticleSnapshot {
  const { title, summary, body, section, tags, status, featured } = article;
  return { title, summary, body, section, tags, status, featured, leadImage: article.leadImage?.sha256 ?? null, leadImageAlt: article.leadImage?.alt ?? '' };
}

export function withRevisions(articles: ArticlesService, db: Database, now: () => number = Date.now): EditorialArticles {
  async function record(id: number, actor: Actor, fallback: RevisionAction): Promise<void> {
    const article = await articles.get(id);
    await db('revisions').insert({
      item_type: 'article',
      item_id: id,
      user_id: actor.userId,
      action: actor.action ?? fallback,
      reason: (actor.reason ?? '').slice(0, 500),
      snapshot: JSON.stringify(snapshotOf(article)),
      created_at: now(),
    });
  }

  function toRevision(row: Record<string, unknown>): Revision {
    return {
      id: Number(row.id),
      itemType: 'article',
      itemId: Number(row.item_id),
      user: (row.user_name as string | null) ?? null,
      action: row.action as RevisionAction,
      reason: row.reason as string,
      snapshot: JSON.parse(row.snapshot as string) as ArticleSnapshot,
      createdAt: Number(row.created_at),
    };
  }

  const service: EditorialArticles = {
    get: (id) => articles.get(id),
    list: (options) => articles.list(options),
    async create(input, authorId, options) {
      const saved = await articles.create(input, authorId);
      await record(saved.id, options?.actor ?? actorContext.getStore() ?? { userId: authorId }, 'create');
      return saved;
    },
    async update(id, input, options) {
      const saved = await articles.update(id, input);
      await record(id, options?.actor ?? actorContext.getStore() ?? { userId: null }, 'edit');
      return saved;
    },
    async revisions(id) {
      const rows = await db('revisions')
        .leftJoin('users', 'users.id', 'revisions.user_id')
        .where({ item_type: 'article', item_id: id })
        .orderBy('revisions.id', 'desc')
        .limit(200)
        .select('revisions.*', 'users.name as user_name');
      return rows.map(toRevision);
    },
    async revision(id, revisionId) {
      const row = await db('revisions')
        .leftJoin('users', 'users.id', 'revisions.user_id')
        .where({ 'revisions.id': revisionId, item_type: 'article', item_id: id })
        .first('revisions.*', 'users.name as user_name');
      if (!row) throw new NotFoundError(`revision ${revisionId} of article ${id}`);
      return toRevision(row);
    },
    async restore(id, revisionId, userId) {
      const { snapshot } = await service.revision(id, revisionId);
      if (!snapshot || typeof snapshot.title !== 'string') throw new BadRequestError('that revision has no content to restore', 'revision');
      const { title, summary, body, section, tags, status, featured } = snapshot;
      const exists = section === null || Boolean(await db('sections').where({ slug: section }).first('id'));
      const lead = { leadImage: snapshot.leadImage ?? null, leadImageAlt: snapshot.leadImageAlt ?? '' };
      return service.update(id, { title, summary, body, section: exists ? section : null, tags, status, featured, ...lead }, { actor: { userId, action: 'restore', reason: `restored revision ${revisionId}` } });
    },
  };
  return service;
}

/** Events keep a history too: a snapshot after each editor save, submission and moderation action. */
export async function recordEventRevision(db: Database, events: EventsService, id: number, actor: Actor, now: () => number = Date.now): Promise<void> {
  const e = await events.get(id);
  const snapshot = { title: e.title, summary: e.summary, body: e.body, location: e.location, startsAt: e.startsAt, endsAt: e.endsAt, tags: e.tags, status: e.status, featured: e.featured };
  await db('revisions').insert({
    item_type: 'event', item_id: id, user_id: actor.userId, action: actor.action ?? 'edit', reason: (actor.reason ?? '').slice(0, 500), snapshot: JSON.stringify(snapshot), created_at: now(),
  });
}
