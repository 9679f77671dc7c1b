// Revision history: every save of an article or event records a snapshot
// with who did it, what they did and why (a moderator's reason for hiding).
// The revision is written INSIDE the save's transaction (the services'
// `inTransaction` step), so a save and its history commit together: a crash
// between them can no longer keep the edit and lose who made it. An editor
// restores a revision by saving its snapshot again, which is itself a new
// revision, so history is never rewritten.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { ArticleInput } from '../articles/article-input';
import { Article, ArticlesService, readArticle, SaveOptions, SaveResult } from '../articles/articles-service';
import type { EventInput } from '../events/event-input';
import { Event, EventsService, readEvent } from '../events/events-service';
import { BadRequestError, NotFoundError } from '../errors';

export const REVISION_ACTIONS = [
  'create',
  'edit',
  'restore',
  'submit',
  'publish',
  'hide',
  'feature',
  'unfeature',
] as const;
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

export interface EventSnapshot {
  title: string;
  summary: string;
  body: string;
  location: string;
  /** RFC 3339, as the API reads and writes them. */
  startsAt: string;
  endsAt: string | null;
  tags: string[];
  status: Event['status'];
  featured: boolean;
  leadImage?: string | null;
  leadImageAlt?: string;
}

export type ItemType = 'article' | 'event';

export interface Revision<S = ArticleSnapshot> {
  id: number;
  itemType: ItemType;
  itemId: number;
  user: string | null;
  action: RevisionAction;
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
 * (the JSON API's article and event routes call the plain service interface).
 */
export const actorContext = new AsyncLocalStorage<Actor>();

export interface EditorialSaveOptions extends SaveOptions {
  actor?: Actor;
}

/** The history every editorial service offers, for one item type. */
interface History<S> {
  revisions(id: number): Promise<Revision<S>[]>;
  revision(id: number, revisionId: number): Promise<Revision<S>>;
  restore(id: number, revisionId: number, userId: number | null): Promise<SaveResult>;
}

/** The articles service, recording a revision in each save's transaction. */
export interface EditorialArticles extends ArticlesService, History<ArticleSnapshot> {
  create(input: ArticleInput, authorId: number | null, options?: EditorialSaveOptions): Promise<SaveResult>;
  update(id: number, input: ArticleInput, options?: EditorialSaveOptions): Promise<SaveResult>;
}

/** The events service, recording a revision in each save's transaction. */
export interface EditorialEvents extends EventsService, History<EventSnapshot> {
  create(input: EventInput, authorId: number | null, options?: EditorialSaveOptions): Promise<SaveResult>;
  update(id: number, input: EventInput, options?: EditorialSaveOptions): Promise<SaveResult>;
}

export function snapshotOf(article: Article): ArticleSnapshot {
  const { title, summary, body, section, tags, status, featured } = article;
  return {
    title,
    summary,
    body,
    section,
    tags,
    status,
    featured,
    leadImage: article.leadImage?.sha256 ?? null,
    leadImageAlt: article.leadImage?.alt ?? '',
  };
}

export function eventSnapshotOf(e: Event): EventSnapshot {
  const { title, summary, body, location, startsAt, endsAt, tags, status, featured } = e;
  return {
    title,
    summary,
    body,
    location,
    startsAt,
    endsAt,
    tags,
    status,
    featured,
    leadImage: e.leadImage?.sha256 ?? null,
    leadImageAlt: e.leadImage?.alt ?? '',
  };
}

/** Reads and writes of the revisions table for one item type. */
function historyStore<S>(db: Database, itemType: ItemType, now: () => number) {
  function toRevision(row: Record<string, unknown>): Revision<S> {
    return {
      id: Number(row.id),
      itemType,
      itemId: Number(row.item_id),
      user: (row.user_name as string | null) ?? null,
      action: row.action as RevisionAction,
      reason: row.reason as string,
      snapshot: JSON.parse(row.snapshot as string) as S,
      createdAt: Number(row.created_at),
    };
  }
  const select = () =>
    db('revisions').leftJoin('users', 'users.id', 'revisions.user_id').select('revisions.*', 'users.name as user_name');
  return {
    async insert(
      trx: Knex.Transaction,
      id: number,
      snapshot: S,
      actor: Actor,
      fallback: RevisionAction,
    ): Promise<void> {
      await trx('revisions').insert({
        item_type: itemType,
        item_id: id,
        user_id: actor.userId,
        action: actor.action ?? fallback,
        reason: (actor.reason ?? '').slice(0, 500),
        snapshot: JSON.stringify(snapshot),
        created_at: now(),
      });
    },
    async list(id: number): Promise<Revision<S>[]> {
      return (
        await select().where({ item_type: itemType, item_id: id }).orderBy('revisions.id', 'desc').limit(200)
      ).map(toRevision);
    },
    async get(id: number, revisionId: number): Promise<Revision<S>> {
      const [row] = await select().where({ 'revisions.id': revisionId, item_type: itemType, item_id: id });
      if (!row) throw new NotFoundError(`revision ${revisionId} of ${itemType} ${id}`);
      return toRevision(row);
    },
  };
}

/** The save's own step, then the caller's (e.g. a submission record), all in one transaction. */
function withRevisionStep(
  options: EditorialSaveOptions | undefined,
  fallbackActor: Actor,
  fallback: RevisionAction,
  record: (trx: Knex.Transaction, id: number, actor: Actor, fallback: RevisionAction) => Promise<void>,
): SaveOptions {
  const actor = options?.actor ?? actorContext.getStore() ?? fallbackActor;
  return {
    inTransaction: async (trx, id) => {
      await record(trx, id, actor, fallback);
      await options?.inTransaction?.(trx, id);
    },
  };
}

/** A restored snapshot's lead image, if the media is still there (it never leaves, but a hand-edited database might). */
async function restorableLeadImage(db: Database, snapshot: { leadImage?: string | null; leadImageAlt?: string }) {
  const sha256 = snapshot.leadImage ?? null;
  const exists = sha256 === null || Boolean(await db('media').where({ sha256, kind: 'image' }).first('sha256'));
  return { leadImage: exists ? sha256 : null, leadImageAlt: snapshot.leadImageAlt ?? '' };
}

export function withRevisions(
  articles: ArticlesService,
  db: Database,
  now: () => number = Date.now,
): EditorialArticles {
  const history = historyStore<ArticleSnapshot>(db, 'article', now);
  const record = async (trx: Knex.Transaction, id: number, actor: Actor, fallback: RevisionAction) =>
    history.insert(trx, id, snapshotOf(await readArticle(trx, id)), actor, fallback);

  const service: EditorialArticles = {
    get: (id) => articles.get(id),
    list: (options) => articles.list(options),
    create: (input, authorId, options) =>
      articles.create(input, authorId, withRevisionStep(options, { userId: authorId }, 'create', record)),
    update: (id, input, options) =>
      articles.update(id, input, withRevisionStep(options, { userId: null }, 'edit', record)),
    revisions: (id) => history.list(id),
    revision: (id, revisionId) => history.get(id, revisionId),
    async restore(id, revisionId, userId) {
      const { snapshot } = await history.get(id, revisionId);
      if (!snapshot || typeof snapshot.title !== 'string')
        throw new BadRequestError('that revision has no content to restore', 'revision');
      const { title, summary, body, section, tags, status, featured } = snapshot;
      const exists = section === null || Boolean(await db('sections').where({ slug: section }).first('id'));
      const lead = await restorableLeadImage(db, snapshot);
      return service.update(
        id,
        { title, summary, body, section: exists ? section : null, tags, status, featured, ...lead },
        { actor: { userId, action: 'restore', reason: `restored revision ${revisionId}` } },
      );
    },
  };
  return service;
}

export function withEventRevisions(events: EventsService, db: Database, now: () => number = Date.now): EditorialEvents {
  const history = historyStore<EventSnapshot>(db, 'event', now);
  const record = async (trx: Knex.Transaction, id: number, actor: Actor, fallback: RevisionAction) =>
    history.insert(trx, id, eventSnapshotOf(await readEvent(trx, id)), actor, fallback);

  const service: EditorialEvents = {
    get: (id) => events.get(id),
    list: (options) => events.list(options),
    create: (input, authorId, options) =>
      events.create(input, authorId, withRevisionStep(options, { userId: authorId }, 'create', record)),
    update: (id, input, options) =>
      events.update(id, input, withRevisionStep(options, { userId: null }, 'edit', record)),
    revisions: (id) => history.list(id),
    revision: (id, revisionId) => history.get(id, revisionId),
    async restore(id, revisionId, userId) {
      const { snapshot } = await history.get(id, revisionId);
      if (!snapshot || typeof snapshot.title !== 'string' || typeof snapshot.startsAt !== 'string')
        throw new BadRequestError('that revision has no content to restore', 'revision');
      const { title, summary, body, location, tags, status, featured } = snapshot;
      const startsAt = Date.parse(snapshot.startsAt);
      const endsAt = snapshot.endsAt === null ? null : Date.parse(snapshot.endsAt);
      const lead = await restorableLeadImage(db, snapshot);
      return service.update(
        id,
        { title, summary, body, location, startsAt, endsAt, tags, status, featured, ...lead },
        { actor: { userId, action: 'restore', reason: `restored revision ${revisionId}` } },
      );
    },
  };
  return service;
}
