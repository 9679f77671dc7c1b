// Validation of event writes from the API: pure, so every rule is unit
// tested with plain data. Errors name the field; nothing is written.
import { ARTICLE_STATUSES, ArticleStatus, parseTagName } from '../articles/article-input';
import { SLUG_MAX, SLUG_PATTERN } from '../articles/slug';
import { BadRequestError } from '../errors';
import { LeadImageInput, parseLeadImageFields } from '../media/lead-image';

export type EventStatus = ArticleStatus;

export interface EventInput extends LeadImageInput {
  title?: string;
  slug?: string;
  summary?: string;
  body?: string;
  location?: string;
  startsAt?: number;
  endsAt?: number | null;
  tags?: string[];
  status?: EventStatus;
  featured?: boolean;
}

export const EVENT_LIMITS = { title: 300, summary: 1000, body: 512 * 1024, location: 300, tags: 20 } as const;

const FIELDS = new Set([
  'title',
  'slug',
  'summary',
  'body',
  'location',
  'startsAt',
  'endsAt',
  'tags',
  'status',
  'featured',
  'leadImage',
  'leadImageAlt',
]);
// RFC 3339 date-time with an explicit offset (Z or ±hh:mm), seconds optional.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks a JSON body for POST (title, body, startsAt required) or PUT (every field optional). */
export function parseEventInput(raw: unknown, mode: 'create' | 'update'): EventInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BadRequestError('the request body must be a JSON object');
  const body = raw as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0)
    throw new BadRequestError(`unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, unknown[0]);
  const input: EventInput = {};
  if (body.title !== undefined || mode === 'create') {
    const title = text(body.title, 'title', EVENT_LIMITS.title).trim();
    if (title === '') throw new BadRequestError('title must not be empty', 'title');
    input.title = title;
  }
  if (body.slug !== undefined) {
    const slug = text(body.slug, 'slug', SLUG_MAX);
    if (!SLUG_PATTERN.test(slug))
      throw new BadRequestError('slug must be lowercase letters, digits and single hyphens (e.g. "open-day")', 'slug');
    input.slug = slug;
  }
  if (body.summary !== undefined) input.summary = text(body.summary, 'summary', EVENT_LIMITS.summary).trim();
  if (body.body !== undefined || mode === 'create') input.body = text(body.body, 'body', EVENT_LIMITS.body);
  if (body.location !== undefined) input.location = text(body.location, 'location', EVENT_LIMITS.location).trim();
  if (body.startsAt !== undefined || mode === 'create') input.startsAt = parseDateTime(body.startsAt, 'startsAt');
  if (body.endsAt !== undefined) input.endsAt = body.endsAt === null ? null : parseDateTime(body.endsAt, 'endsAt');
  if (input.startsAt !== undefined && input.endsAt != null && input.endsAt < input.startsAt) {
    throw new BadRequestError('endsAt must not be before startsAt', 'endsAt');
  }
  if (body.tags !== undefined) {
    if (!Array.isArray(body.tags)) throw new BadRequestError('tags must be an array of strings', 'tags');
    if (body.tags.length > EVENT_LIMITS.tags) throw new BadRequestError(`at most ${EVENT_LIMITS.tags} tags`, 'tags');
    input.tags = [...new Set(body.tags.map((t) => parseTagName(t)))];
  }
  if (body.status !== undefined) {
    if (!ARTICLE_STATUSES.includes(body.status as EventStatus))
      throw new BadRequestError(`status must be one of ${ARTICLE_STATUSES.join(', ')}`, 'status');
    input.status = body.status as EventStatus;
  }
  if (body.featured !== undefined) {
    if (typeof body.featured !== 'boolean') throw new BadRequestError('featured must be true or false', 'featured');
    input.featured = body.featured;
  }
  parseLeadImageFields(body, input);
  return input;
}

/** An RFC 3339 date-time that names a real instant: 2026-02-30 or 25:00 are refused, not rolled over. */
export function parseDateTime(value: unknown, field: string): number {
  if (typeof value !== 'string')
    throw new BadRequestError(`${field} must be a date-time string such as "2026-11-22T18:30:00Z"`, field);
  const m = DATE_TIME.exec(value);
  if (!m)
    throw new BadRequestError(
      `${field} must be an RFC 3339 date-time with an offset, such as "2026-11-22T18:30:00Z"`,
      field,
    );
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    probe.getUTCFullYear() !== year ||
    probe.getUTCMonth() !== month - 1 ||
    probe.getUTCDate() !== day ||
    probe.getUTCHours() !== hour ||
    probe.getUTCMinutes() !== minute ||
    second > 59
  ) {
    throw new BadRequestError(`${field} is not a real date and time: ${JSON.stringify(value)}`, field);
  }
  if (year < 1900 || year > 2200) throw new BadRequestError(`${field} must be between the years 1900 and 2200`, field);
  return Date.parse(value);
}

function text(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) throw new BadRequestError(`${field} is required`, field);
  if (typeof value !== 'string') throw new BadRequestError(`${field} must be a string`, field);
  if (value.length > max) throw new BadRequestError(`${field} is longer than ${max} characters`, field);
  return value;
}
