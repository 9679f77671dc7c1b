// Sections, as editors list them: every section with how many articles it holds.
import type { Database } from '../../common/db/database';

export async function listSections(
  db: Database,
): Promise<{ id: number; slug: string; name: string; articles: number }[]> {
  const rows: Record<string, unknown>[] = await db('sections')
    .leftJoin('articles', 'articles.section_id', 'sections.id')
    .groupBy('sections.id', 'sections.slug', 'sections.name')
    .orderBy('sections.name')
    .select('sections.id', 'sections.slug', 'sections.name')
    .count({ articles: 'articles.id' });
  return rows.map((r) => ({
    id: Number(r.id),
    slug: String(r.slug),
    name: String(r.name),
    articles: Number(r.articles),
  }));
}
