// Sections: listing them with how many articles each holds, and creating
// one (the same rules for the editor form and the JSON API).
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { BadRequestError, ConflictError } from '../errors';
import { slugify } from './slug';

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

/**
 * Creates a section inside the caller's transaction. `rawSlug` is optional
 * (the name's slug then); refuses a bad name or slug with 400 and a taken
 * slug with 409, naming the field.
 */
export async function createSection(
  trx: Knex.Transaction,
  rawName: string,
  rawSlug?: string,
): Promise<{ slug: string; name: string }> {
  const name = rawName.trim();
  if (name === '' || name.length > 100) throw new BadRequestError('a section name is 1 to 100 characters', 'name');
  if (/[<>\p{Cc}\p{Cs}\ufffe\uffff]/u.test(name))
    throw new BadRequestError('section names may not contain < >, control characters or unpaired surrogates', 'name');
  const given = rawSlug !== undefined && rawSlug !== '';
  const slug = slugify(given ? rawSlug : name, 64);
  if (slug === '') throw new BadRequestError('the section needs letters or digits', given ? 'slug' : 'name');
  if (await trx('sections').where({ slug }).first('id'))
    throw new ConflictError(`section "${slug}" already exists`, 'slug');
  await trx('sections').insert({ slug, name });
  return { slug, name };
}
