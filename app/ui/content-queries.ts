// Reads for the editor's lists: filters, and full-text search of title,
// summary and body (the index: app/db/migrations/020-editor-search.ts).
import type { Knex } from 'knex';
import { dialectOf, type Database } from '../../common/db/database';
import type { ArticleStatus } from '../articles/article-input';
import { STORED_STATUSES } from '../content/item-input';
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
    if (!STORED_STATUSES.includes(status as ArticleStatus))
      throw new BadRequestError(`status must be one of ${STORED_STATUSES.join(', ')}`, 'status');
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
  // Deleted articles are tombstones: listed only when asked for.
  if (filter.status) query.where('articles.status', filter.status);
  else query.whereNot('articles.status', 'deleted');
  if (filter.section) query.where('sections.slug', filter.section);
  if (filter.featured) query.where('articles.featured', true);
  if (filter.q) fullTextMatch(db, query, filter.q, dialectOf(db) === 'mysql' ? await mysqlStopwords(db) : new Set());
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

/** MariaDB's InnoDB full-text index leaves out words shorter than this (innodb_ft_min_token_size). */
const MYSQL_MIN_TOKEN = 3;

/**
 * The words of a search, as both indexes split text: runs of letters and
 * digits, lower-cased. Both also split at combining marks (FTS5's unicode61
 * and InnoDB's parser), so a word in a script that writes vowels as marks
 * (Devanagari) is searched as its letters: it finds its article, and others
 * holding the same letters too.
 */
export function searchWords(q: string): string[] {
  return (q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 12);
}

/** InnoDB's built-in stopword list (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD), for a server that will not show it. */
const INNODB_DEFAULT_STOPWORDS = [
  'a',
  'about',
  'an',
  'are',
  'as',
  'at',
  'be',
  'by',
  'com',
  'de',
  'en',
  'for',
  'from',
  'how',
  'i',
  'in',
  'is',
  'it',
  'la',
  'of',
  'on',
  'or',
  'that',
  'the',
  'this',
  'to',
  'was',
  'what',
  'when',
  'where',
  'who',
  'will',
  'with',
  'und',
  'www',
];
const stopwordsOf = new WeakMap<Database, Promise<Set<string>>>();

/**
 * The words MariaDB's index leaves out (a required stopword would match
 * nothing), read once per database from the server, or InnoDB's built-in
 * list when the account may not read it.
 */
function mysqlStopwords(db: Database): Promise<Set<string>> {
  let words = stopwordsOf.get(db);
  if (!words) {
    words = db
      .raw('select value from information_schema.INNODB_FT_DEFAULT_STOPWORD')
      .then(([rows]: [{ value: string }[]]) => new Set(rows.map((r) => r.value.toLowerCase())))
      .catch(() => new Set(INNODB_DEFAULT_STOPWORDS));
    stopwordsOf.set(db, words);
  }
  return words;
}

/**
 * Keeps the articles whose title, summary or body hold every word of `q`,
 * each word also matching as the start of a longer one ("elect" finds
 * "election"). A search with no words (only punctuation) keeps nothing.
 * SQLite: the FTS5 table; MariaDB: MATCH … AGAINST in boolean mode, with
 * the words its index leaves out (too short, or stopwords) matched with
 * LIKE instead.
 */
function fullTextMatch(db: Database, query: Knex.QueryBuilder, q: string, stopwords: Set<string>): void {
  const words = searchWords(q);
  if (words.length === 0) {
    query.whereRaw('1 = 0');
    return;
  }
  if (dialectOf(db) === 'sqlite') {
    const expression = words.map((w) => `"${w}"*`).join(' ');
    query.whereIn('articles.id', (fts) =>
      fts.select('rowid').from('articles_fts').whereRaw('articles_fts match ?', [expression]),
    );
    return;
  }
  const indexed = words.filter((w) => w.length >= MYSQL_MIN_TOKEN && !stopwords.has(w));
  if (indexed.length > 0)
    query.whereRaw('match(articles.title, articles.summary, articles.body) against (? in boolean mode)', [
      indexed.map((w) => `+${w}*`).join(' '),
    ]);
  for (const word of words.filter((w) => !indexed.includes(w))) {
    // '!' escapes LIKE wildcards; a word is letters and digits only, so there is none to escape.
    const like = `%${word}%`;
    query.where((w) =>
      w
        .whereRaw("articles.title like ? escape '!'", [like])
        .orWhereRaw("articles.summary like ? escape '!'", [like])
        .orWhereRaw("articles.body like ? escape '!'", [like]),
    );
  }
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
