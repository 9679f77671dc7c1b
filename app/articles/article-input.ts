// Validation of article writes from the API: pure, so every rule is unit
// tested with plain data. Errors name the field; nothing is written.
import { BadRequestError } from '../errors';
import { LeadImageInput, parseLeadImageFields } from '../media/lead-image';
import { SLUG_MAX, SLUG_PATTERN } from './slug';

export const ARTICLE_STATUSES = ['draft', 'published', 'hidden'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];

export interface ArticleInput extends LeadImageInput {
  title?: string;
  slug?: string;
  summary?: string;
  body?: string;
  section?: string | null;
  tags?: string[];
  status?: ArticleStatus;
  featured?: boolean;
}

export const LIMITS = {
  title: 300,
  summary: 1000,
  body: 512 * 1024,
  tags: 20,
  tag: 64,
} as const;

const FIELDS: Record<keyof ArticleInput, true> = {
  title: true,
  slug: true,
  summary: true,
  body: true,
  section: true,
  tags: true,
  status: true,
  featured: true,
  leadImage: true,
  leadImageAlt: true,
};

/** Checks a JSON body for POST (mode 'create': title and body required) or PUT (every field optional). */
export function parseArticleInput(raw: unknown, mode: 'create' | 'update'): ArticleInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BadRequestError('the request body must be a JSON object');
  }
  const body = raw as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !(k in FIELDS));
  if (unknown.length > 0) {
    throw new BadRequestError(`unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, unknown[0]);
  }
  const input: ArticleInput = {};

  if (body.title !== undefined || mode === 'create') {
    const title = text(body.title, 'title', LIMITS.title).trim();
    if (title === '') throw new BadRequestError('title must not be empty', 'title');
    input.title = title;
  }
  if (body.slug !== undefined) {
    const slug = text(body.slug, 'slug', SLUG_MAX);
    if (!SLUG_PATTERN.test(slug))
      throw new BadRequestError('slug must be lowercase letters, digits and single hyphens (e.g. "my-story")', 'slug');
    input.slug = slug;
  }
  if (body.summary !== undefined) input.summary = text(body.summary, 'summary', LIMITS.summary).trim();
  if (body.body !== undefined || mode === 'create') input.body = text(body.body, 'body', LIMITS.body);
  if (body.section !== undefined) {
    if (body.section === null) input.section = null;
    else {
      const section = text(body.section, 'section', 64);
      if (!SLUG_PATTERN.test(section))
        throw new BadRequestError('section must be a section slug such as "news"', 'section');
      input.section = section;
    }
  }
  if (body.tags !== undefined) {
    if (!Array.isArray(body.tags)) throw new BadRequestError('tags must be an array of strings', 'tags');
    if (body.tags.length > LIMITS.tags) throw new BadRequestError(`at most ${LIMITS.tags} tags`, 'tags');
    input.tags = [...new Set(body.tags.map((t) => parseTagName(t)))];
  }
  if (body.status !== undefined) {
    if (!ARTICLE_STATUSES.includes(body.status as ArticleStatus)) {
      throw new BadRequestError(`status must be one of ${ARTICLE_STATUSES.join(', ')}`, 'status');
    }
    input.status = body.status as ArticleStatus;
  }
  if (body.featured !== undefined) {
    if (typeof body.featured !== 'boolean') throw new BadRequestError('featured must be true or false', 'featured');
    input.featured = body.featured;
  }
  parseLeadImageFields(body, input);
  return input;
}

/** Tag names are plain words: no markup, no path or control characters. */
export function parseTagName(value: unknown): string {
  const name = text(value, 'tags', LIMITS.tag).trim().replace(/\s+/g, ' ');
  if (name === '') throw new BadRequestError('tag names must not be empty', 'tags');
  if (/[<>/\\"'`&?#%\p{Cc}]/u.test(name)) {
    throw new BadRequestError(
      `tag ${JSON.stringify(name)} contains a character tags may not use (< > / \\ " ' \` & ? # %)`,
      'tags',
    );
  }
  return name;
}

function text(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) throw new BadRequestError(`${field} is required`, field);
  if (typeof value !== 'string') throw new BadRequestError(`${field} must be a string`, field);
  if (value.length > max) throw new BadRequestError(`${field} is longer than ${max} characters`, field);
  return value;
}
