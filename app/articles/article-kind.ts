// Articles, declared for the shared content model (app/content/item-kind.ts):
// an item with a section and an author.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { articlePath } from '../../common/site-paths';
import { Item, ItemKind, ItemSnapshot, Reader, Row, sharedItemFields } from '../content/item-kind';
import { createItemService, ItemService, ItemServiceDeps } from '../content/item-service';
import { BadRequestError } from '../errors';
import type { LeadImage } from '../media/lead-image';
import { ArticleInput, ArticleStatus, parseArticleInput } from './article-input';

export interface Article extends Item {
  section: string | null;
  status: ArticleStatus;
  author: string | null;
  /** A live page (app/live/live-entries.ts). */
  live: boolean;
}

export interface ArticleSnapshot extends ItemSnapshot {
  section: string | null;
}

export type ArticlesService = ItemService<ArticleInput, Article>;

/** A section slug's id (undefined: not given, null: none), or 400 for an unknown section. */
async function sectionId(trx: Knex.Transaction, slug: string | null | undefined): Promise<number | null | undefined> {
  if (slug === undefined) return undefined;
  if (slug === null) return null;
  const row = await trx('sections').where({ slug }).first('id');
  if (!row) throw new BadRequestError(`unknown section "${slug}"`, 'section');
  return row.id as number;
}

export const ARTICLES: ItemKind<ArticleInput, Article, ArticleSnapshot> = {
  name: 'article',
  plural: 'articles',
  aName: 'an article',
  tagLink: { table: 'article_tags', column: 'article_id' },
  path: articlePath,
  parseInput: parseArticleInput,
  async createColumns(trx, input) {
    return { section_id: (await sectionId(trx, input.section)) ?? null, live: input.live ?? false };
  },
  async updateColumns(trx, input) {
    const section = await sectionId(trx, input.section);
    return {
      ...(section === undefined ? {} : { section_id: section }),
      ...(input.live === undefined ? {} : { live: input.live }),
    };
  },
  select: (db: Reader) =>
    db('articles')
      .leftJoin('sections', 'sections.id', 'articles.section_id')
      .leftJoin('users', 'users.id', 'articles.author_id')
      .select('articles.*', 'sections.slug as section_slug', 'users.name as author_name'),
  toItem: (r: Row, tags: string[], leadImage: LeadImage | null, authors: string[]) => ({
    ...sharedItemFields(r, tags, leadImage, authors, articlePath),
    section: (r.section_slug as string | null) ?? null,
    author: (r.author_name as string | null) ?? null,
    live: Boolean(r.live),
  }),
  ownSnapshot: (article) => ({ section: article.section }),
  async restoreFields(db: Database, { section }) {
    // A section deleted since the revision: restored without one.
    const exists = section === null || Boolean(await db('sections').where({ slug: section }).first('id'));
    return { section: exists ? section : null };
  },
  submissionFields: ['title', 'summary', 'body', 'tags'],
  moderated: (article) => article,
};

export function createArticlesService(deps: ItemServiceDeps): ArticlesService {
  return createItemService(ARTICLES, deps);
}
