// Reads for the editor's lists: filters and search by title.
import type { Database } from '../../common/db/database';
import { ARTICLE_STATUSES, ArticleStatus } from '../articles/article-input';
import { BadRequestError } from '../errors';

export interface ArticleFilter {
  status?: ArticleStatus;
  section?: string;
  q?: string;
  featured?: boolean;
  page: number;
}

export const PAGE_SIZE = 25;

export function parseArticleFilter(query: Record<string, unknown>): ArticleFilter {
  const filter: ArticleFilter = { page: 1 };
  const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const status = one(query.status);
  if (status !== undefined && status !== '') {
    if (!ARTICLE_STATUSES.includes(status as ArticleStatus))
      throw new BadRequestError(`status must be one of ${ARTICLE_STATUSES.join(', ')}`, 'status');
    filter.status = status as ArticleStatus;
  }
  const section = one(query.section);
  if (section !== undefined && section !== '') {
    if (typeof section !== 'string' || !/^[a-z0-9-]{1,64}$/.test(section))
      throw new BadRequestError('section must be a section slug', 'section');
    filter.section = section;
  }
  const q = one(query.q);
  if (q !== undefined && q !== '') {
    if (typeof q !== 'string' || q.length > 200)
      throw new BadRequestError('search text must be at most 200 characters', 'q');
    filter.q = q.trim();
  }
  if (one(query.featured) === '1') filter.featured = true;
  const page = one(query.page);
  if (page !== undefined && page !== '') {
    if (typeof page !== 'string' || !/^[1-9]\d{0,5}$/.test(page))
      throw new BadRequestError('page must be a positive integer', 'page');
    filter.page = Number(page);
  }
  return filter;
}

export interface ArticleRowView {
  id: number;
  title: string;
  slug: string;
  status: ArticleStatus;
  featured: boolean;
  section: string | null;
  author: string | null;
  updatedAt: number;
  publishedAt: number | null;
}

export async function listArticles(
  db: Database,
  filter: ArticleFilter,
): Promise<{ rows: ArticleRowView[]; more: boolean }> {
  const query = db('articles')
    .leftJoin('sections', 'sections.id', 'articles.section_id')
    .leftJoin('users', 'users.id', 'articles.author_id')
    .orderBy('articles.updated_at', 'desc')
    .orderBy('articles.id', 'desc')
    .limit(PAGE_SIZE + 1)
    .offset((filter.page - 1) * PAGE_SIZE)
    .select(
      'articles.id',
      'articles.title',
      'articles.slug',
      'articles.status',
      'articles.featured',
      'articles.updated_at',
      'articles.published_at',
      'sections.slug as section',
      'users.name as author',
    );
  if (filter.status) query.where('articles.status', filter.status);
  if (filter.section) query.where('sections.slug', filter.section);
  if (filter.featured) query.where('articles.featured', true);
  // '!' escapes LIKE wildcards the same way on MariaDB and SQLite.
  if (filter.q) query.whereRaw("articles.title like ? escape '!'", [`%${filter.q.replace(/[!%_]/g, '!$&')}%`]);
  const rows = await query;
  return {
    more: rows.length > PAGE_SIZE,
    rows: rows.slice(0, PAGE_SIZE).map((r) => ({
      id: r.id,
      title: r.title,
      slug: r.slug,
      status: r.status,
      featured: Boolean(r.featured),
      section: r.section ?? null,
      author: r.author ?? null,
      updatedAt: Number(r.updated_at),
      publishedAt: r.published_at == null ? null : Number(r.published_at),
    })),
  };
}

export async function dashboardCounts(db: Database): Promise<Record<string, number>> {
  const counts: Record<string, number> = { draft: 0, published: 0, hidden: 0, pending: 0, media: 0 };
  const byStatus: { status: string; n: number | string }[] = await db('articles')
    .groupBy('status')
    .select('status')
    .count({ n: '*' });
  for (const row of byStatus) counts[row.status] = Number(row.n);
  const [{ n: pending }] = await db('submissions').where({ state: 'pending' }).count({ n: '*' });
  const [{ n: media }] = await db('media').count({ n: '*' });
  counts.pending = Number(pending);
  counts.media = Number(media);
  return counts;
}
