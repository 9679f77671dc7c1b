// The reads the producer renders from.
import type { Database } from '../common/database';

export interface ArticleRow {
  id: number;
  slug: string;
  title: string;
  summary: string;
  body: string;
  status: 'draft' | 'published' | 'hidden';
  featured: boolean;
  section: { slug: string; name: string } | null;
  tags: { slug: string; name: string }[];
  author: string | null;
  publishedAt: number | null;
  updatedAt: number;
}

export async function loadArticle(db: Database, id: number): Promise<ArticleRow | undefined> {
  const rows = await selectArticles(db).where('articles.id', id);
  return (await withTags(db, rows))[0];
}

/** Newest published articles, newest first. */
export async function latestArticles(db: Database, limit: number, options: { featured?: boolean } = {}): Promise<ArticleRow[]> {
  const query = selectArticles(db).where('articles.status', 'published').orderBy([{ column: 'articles.published_at', order: 'desc' }, { column: 'articles.id', order: 'desc' }]).limit(limit);
  if (options.featured) query.where('articles.featured', true);
  return withTags(db, await query);
}

function selectArticles(db: Database) {
  return db('articles')
    .leftJoin('sections', 'sections.id', 'articles.section_id')
    .leftJoin('users', 'users.id', 'articles.author_id')
    .select('articles.*', 'sections.slug as section_slug', 'sections.name as section_name', 'users.name as author_name');
}

async function withTags(db: Database, rows: Record<string, unknown>[]): Promise<ArticleRow[]> {
  const ids = rows.map((r) => Number(r.id));
  const tags = ids.length
    ? await db('article_tags').join('tags', 'tags.id', 'article_tags.tag_id').whereIn('article_tags.article_id', ids).orderBy('tags.name').select('article_tags.article_id', 'tags.slug', 'tags.name')
    : [];
  return rows.map((r) => ({
    id: Number(r.id),
    slug: r.slug as string,
    title: r.title as string,
    summary: r.summary as string,
    body: r.body as string,
    status: r.status as ArticleRow['status'],
    featured: Boolean(r.featured),
    section: r.section_slug ? { slug: r.section_slug as string, name: r.section_name as string } : null,
    tags: tags.filter((t) => Number(t.article_id) === Number(r.id)).map((t) => ({ slug: t.slug as string, name: t.name as string })),
    author: (r.author_name as string | null) ?? null,
    publishedAt: r.published_at == null ? null : Number(r.published_at),
    updatedAt: Number(r.updated_at),
  }));
}
