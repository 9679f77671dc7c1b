// Article writes. Each save writes the content and an outbox row in ONE
// transaction (docs/design.md, "Publish path"): once the caller is answered, the render is
// owed even if Redis, the producer or this process dies right after.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { articlePath } from '../../common/site-paths';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import type { ArticleInput, ArticleStatus } from './article-input';
import { sanitizeBody } from './sanitize';
import { freeSlug, insertId, setTags, translateUniqueViolation } from './item-writes';
import { slugify } from './slug';
import { LeadImage, leadImageChanges, leadImagesOf } from '../media/lead-image';
import { runSaveHooks } from '../db/idempotency';
import { oweRenders } from '../outbox/outbox';

const ARTICLE_TAGS = { table: 'article_tags', column: 'article_id' } as const;

export interface Article {
  id: number;
  slug: string;
  title: string;
  summary: string;
  body: string;
  section: string | null;
  tags: string[];
  status: ArticleStatus;
  featured: boolean;
  leadImage: LeadImage | null;
  author: string | null;
  publishedAt: number | null;
  createdAt: number;
  updatedAt: number;
  url: string;
}

export interface SaveResult {
  id: number;
  slug: string;
  url: string;
}

/** What a caller adds to a save's transaction. */
export interface SaveOptions {
  /**
   * Runs inside the save's transaction once the row, its tags and its
   * outbox row are written (the revision history, a submission record):
   * if it fails the whole save rolls back, so they commit together or not at all.
   */
  inTransaction?: (trx: Knex.Transaction, id: number) => Promise<void>;
}

export interface ArticlesService {
  create(input: ArticleInput, authorId: number | null, options?: SaveOptions): Promise<SaveResult>;
  update(id: number, input: ArticleInput, options?: SaveOptions): Promise<SaveResult>;
  get(id: number): Promise<Article>;
  list(options: { status?: ArticleStatus; limit: number; offset: number }): Promise<Article[]>;
}

export interface ArticlesServiceDeps {
  db: Database;
  now?: () => number;
  /** Called after a save commits, to wake the outbox relay at once. */
  onSaved?: () => void;
}

export function createArticlesService({ db, now = Date.now, onSaved }: ArticlesServiceDeps): ArticlesService {
  async function sectionId(trx: Knex.Transaction, slug: string | null | undefined): Promise<number | null | undefined> {
    if (slug === undefined) return undefined;
    if (slug === null) return null;
    const row = await trx('sections').where({ slug }).first('id');
    if (!row) throw new BadRequestError(`unknown section "${slug}"`, 'section');
    return row.id as number;
  }

  async function addOutbox(trx: Knex.Transaction, itemId: number, at: number): Promise<void> {
    await oweRenders(trx, [{ topic: 'article', itemId }], at);
  }

  return {
    async create(input, authorId, options) {
      const at = now();
      const result = await db
        .transaction(async (trx) => {
          let slug: string;
          if (input.slug !== undefined) {
            if (await trx('articles').where({ slug: input.slug }).first('id')) {
              throw new ConflictError(`slug "${input.slug}" is already taken`, 'slug');
            }
            slug = input.slug;
          } else {
            slug = await freeSlug(trx, 'articles', slugify(input.title ?? ''), 'article');
          }
          const status = input.status ?? 'draft';
          const lead = await leadImageChanges(trx, input);
          const id = await insertId(trx, 'articles', {
            ...lead,
            slug,
            title: input.title,
            summary: input.summary ?? '',
            body: sanitizeBody(input.body ?? ''),
            section_id: (await sectionId(trx, input.section)) ?? null,
            author_id: authorId,
            status,
            featured: input.featured ?? false,
            published_at: status === 'published' ? at : null,
            created_at: at,
            updated_at: at,
          });
          if (input.tags) await setTags(trx, ARTICLE_TAGS, id, input.tags);
          await addOutbox(trx, id, at);
          await options?.inTransaction?.(trx, id);
          const saved = { id, slug, url: articlePath(slug) };
          // The request's idempotency key commits with the save, or not at all.
          await runSaveHooks(trx, saved);
          return saved;
        })
        .catch(translateUniqueViolation);
      onSaved?.();
      return result;
    },

    async update(id, input, options) {
      const at = now();
      const result = await db.transaction(async (trx) => {
        const current = await trx('articles').where({ id }).forUpdate().first();
        if (!current) throw new NotFoundError(`article ${id}`);
        if (input.slug !== undefined && input.slug !== current.slug) {
          throw new ConflictError('slugs are stable: an article keeps the slug it was created with', 'slug');
        }
        const changes: Record<string, unknown> = { updated_at: at };
        if (input.title !== undefined) changes.title = input.title;
        if (input.summary !== undefined) changes.summary = input.summary;
        if (input.body !== undefined) changes.body = sanitizeBody(input.body);
        const section = await sectionId(trx, input.section);
        if (section !== undefined) changes.section_id = section;
        if (input.featured !== undefined) changes.featured = input.featured;
        if (input.status !== undefined) {
          changes.status = input.status;
          if (input.status === 'published' && current.published_at == null) changes.published_at = at;
        }
        Object.assign(changes, await leadImageChanges(trx, input));
        await trx('articles').where({ id }).update(changes);
        if (input.tags) await setTags(trx, ARTICLE_TAGS, id, input.tags);
        await addOutbox(trx, id, at);
        await options?.inTransaction?.(trx, id);
        const saved = { id, slug: current.slug as string, url: articlePath(current.slug as string) };
        // The request's idempotency key commits with the save, or not at all.
        await runSaveHooks(trx, saved);
        return saved;
      });
      onSaved?.();
      return result;
    },

    get: (id) => readArticle(db, id),

    async list({ status, limit, offset }) {
      const query = selectArticles(db).orderBy('articles.id', 'desc').limit(limit).offset(offset);
      if (status) query.where('articles.status', status);
      return withTags(db, await query);
    },
  };
}

/** One article, read through `db` (or a save's transaction, to see its own writes). */
export async function readArticle(db: Database | Knex.Transaction, id: number): Promise<Article> {
  const [article] = await selectArticles(db).where('articles.id', id);
  if (!article) throw new NotFoundError(`article ${id}`);
  return (await withTags(db, [article]))[0];
}

function selectArticles(db: Database | Knex.Transaction) {
  return db('articles')
    .leftJoin('sections', 'sections.id', 'articles.section_id')
    .leftJoin('users', 'users.id', 'articles.author_id')
    .select('articles.*', 'sections.slug as section_slug', 'users.name as author_name');
}

async function withTags(db: Database | Knex.Transaction, rows: Record<string, unknown>[]): Promise<Article[]> {
  const ids = rows.map((r) => r.id as number);
  const tagRows = ids.length
    ? await db('article_tags')
        .join('tags', 'tags.id', 'article_tags.tag_id')
        .whereIn('article_tags.article_id', ids)
        .select('article_tags.article_id', 'tags.name')
        .orderBy('tags.name')
    : [];
  const leads = await leadImagesOf(db, rows);
  return rows.map((r, i) => ({
    id: r.id as number,
    slug: r.slug as string,
    title: r.title as string,
    summary: r.summary as string,
    body: r.body as string,
    section: (r.section_slug as string | null) ?? null,
    tags: tagRows.filter((t) => t.article_id === r.id).map((t) => t.name as string),
    status: r.status as ArticleStatus,
    featured: Boolean(r.featured),
    leadImage: leads[i],
    author: (r.author_name as string | null) ?? null,
    publishedAt: r.published_at == null ? null : Number(r.published_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    url: articlePath(r.slug as string),
  }));
}
