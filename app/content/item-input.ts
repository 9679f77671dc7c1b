// Validation every kind of item shares (title, slug, summary, body, tags,
// status, featured, lead image): pure, so every rule is unit tested with
// plain data. A kind's own parser (app/articles/article-input.ts,
// app/events/event-input.ts) adds its fields through `own`. Errors name the
// field; nothing is written.
import { BadRequestError } from '../errors';
import { optionalInstant, parseDateTime } from './date-time';
import { LeadImageInput, parseLeadImageFields } from '../media/lead-image';
import { SLUG_MAX, SLUG_PATTERN } from './slug';

export const ITEM_STATUSES = ['draft', 'published', 'hidden'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/**
 * Every status a row can have: the ones a save may set, and 'deleted', which
 * only the delete action sets (app/moderation/moderation.ts). A deleted item
 * is a tombstone: its row is kept, its public page is a 410, and nothing
 * changes it again.
 */
export const STORED_STATUSES = [...ITEM_STATUSES, 'deleted'] as const;
export type StoredStatus = (typeof STORED_STATUSES)[number];

/** The fields every kind's input has. */
export interface ItemInput extends LeadImageInput {
  title?: string;
  slug?: string;
  summary?: string;
  body?: string;
  tags?: string[];
  /** Login names of the item's authors, in byline order (app/auth/people.ts resolves them). */
  authors?: string[];
  /** 'deleted' only from the delete action: the parsers accept ITEM_STATUSES. */
  status?: StoredStatus;
  featured?: boolean;
  /** When to publish (epoch ms), null to cancel (app/schedule/). */
  publishAt?: number | null;
  /** When to take down (epoch ms), null to cancel. */
  unpublishAt?: number | null;
  /** The first publication date, set by hand for a back-dated item. */
  publishedAt?: number;
}

export type InputMode = 'create' | 'update';

export const ITEM_LIMITS = {
  title: 300,
  summary: 1000,
  body: 512 * 1024,
  tags: 20,
  tag: 64,
  authors: 10,
} as const;

const SHARED_FIELDS = [
  'title',
  'slug',
  'summary',
  'body',
  'tags',
  'authors',
  'status',
  'featured',
  'leadImage',
  'leadImageAlt',
  'publishAt',
  'unpublishAt',
  'publishedAt',
] as const;

export interface KindFields<I extends ItemInput> {
  /** The kind's own field names, accepted beside the shared ones. */
  fields: readonly string[];
  /** The example in the slug error, e.g. "my-story". */
  slugExample: string;
  /** Reads the kind's own fields into `input`; runs after body, before tags. */
  own(body: Record<string, unknown>, input: I, mode: InputMode): void;
}

/** Checks a JSON body for POST (mode 'create': title and body required) or PUT (every field optional). */
export function parseItemInput<I extends ItemInput>(raw: unknown, mode: InputMode, kind: KindFields<I>): I {
  const body = jsonObject(raw);
  refuseUnknownFields(body, [...SHARED_FIELDS, ...kind.fields]);
  const input = {} as I;
  if (body.title !== undefined || mode === 'create') {
    const title = text(body.title, 'title', ITEM_LIMITS.title).trim();
    if (title === '') throw new BadRequestError('title must not be empty', 'title');
    input.title = title;
  }
  if (body.slug !== undefined) {
    const slug = text(body.slug, 'slug', SLUG_MAX);
    if (!SLUG_PATTERN.test(slug))
      throw new BadRequestError(
        `slug must be lowercase letters, digits and single hyphens (e.g. "${kind.slugExample}")`,
        'slug',
      );
    input.slug = slug;
  }
  if (body.summary !== undefined)
    input.summary = text(body.summary, 'summary', ITEM_LIMITS.summary, { lines: 'multi' }).trim();
  if (body.body !== undefined || mode === 'create')
    input.body = text(body.body, 'body', ITEM_LIMITS.body, { lines: 'multi' });
  kind.own(body, input, mode);
  readSharedFlags(body, input);
  readSchedule(body, input);
  parseLeadImageFields(body, input);
  return input;
}

/** The schedule's instants; rules that need the clock or the stored row are checked by the save (app/schedule/schedule-rules.ts). */
function readSchedule(body: Record<string, unknown>, input: ItemInput): void {
  const publishAt = optionalInstant(body.publishAt, 'publishAt');
  if (publishAt !== undefined) input.publishAt = publishAt;
  const unpublishAt = optionalInstant(body.unpublishAt, 'unpublishAt');
  if (unpublishAt !== undefined) input.unpublishAt = unpublishAt;
  if (body.publishedAt !== undefined) input.publishedAt = parseDateTime(body.publishedAt, 'publishedAt');
  if (input.publishAt != null && input.status === 'published')
    throw new BadRequestError(
      'publishAt schedules the publication: leave status out (or draft) to publish at that time',
      'publishAt',
    );
  if (input.publishAt != null && input.unpublishAt != null && input.unpublishAt <= input.publishAt)
    throw new BadRequestError('unpublishAt must be after publishAt', 'unpublishAt');
}

function readSharedFlags(body: Record<string, unknown>, input: ItemInput): void {
  if (body.tags !== undefined) {
    if (!Array.isArray(body.tags)) throw new BadRequestError('tags must be an array of strings', 'tags');
    if (body.tags.length > ITEM_LIMITS.tags) throw new BadRequestError(`at most ${ITEM_LIMITS.tags} tags`, 'tags');
    input.tags = [...new Set(body.tags.map((t) => parseTagName(t)))];
  }
  if (body.authors !== undefined) {
    if (!Array.isArray(body.authors) || body.authors.some((a) => typeof a !== 'string'))
      throw new BadRequestError('authors must be an array of user names', 'authors');
    const authors = [...new Set(body.authors.map((a: string) => a.trim()).filter((a) => a !== ''))];
    if (authors.length === 0) throw new BadRequestError('an item needs at least one author', 'authors');
    if (authors.length > ITEM_LIMITS.authors)
      throw new BadRequestError(`at most ${ITEM_LIMITS.authors} authors`, 'authors');
    input.authors = authors;
  }
  if (body.status !== undefined) {
    if (!ITEM_STATUSES.includes(body.status as ItemStatus))
      throw new BadRequestError(`status must be one of ${ITEM_STATUSES.join(', ')}`, 'status');
    input.status = body.status as ItemStatus;
  }
  if (body.featured !== undefined) {
    if (typeof body.featured !== 'boolean') throw new BadRequestError('featured must be true or false', 'featured');
    input.featured = body.featured;
  }
}

/** A JSON request body that is an object, or 400. */
export function jsonObject(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BadRequestError('the request body must be a JSON object');
  return raw as Record<string, unknown>;
}

export function refuseUnknownFields(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new BadRequestError(`unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, unknown[0]);
}

/** Tag names are plain words: no markup, no path or control characters. */
export function parseTagName(value: unknown): string {
  const name = text(value, 'tags', ITEM_LIMITS.tag).trim().replace(/\s+/g, ' ');
  if (name === '') throw new BadRequestError('tag names must not be empty', 'tags');
  if (/[<>/\\"'`&?#%\p{Cc}]/u.test(name)) {
    throw new BadRequestError(
      `tag ${JSON.stringify(name)} contains a character tags may not use (< > / \\ " ' \` & ? # %)`,
      'tags',
    );
  }
  return name;
}

/**
 * A required string of at most `max` characters, or 400 naming `field`.
 * Characters XML 1.0 forbids (§2.2: C0 controls other than tab, line feed
 * and carriage return; lone surrogates; U+FFFE, U+FFFF) are refused, not
 * stripped: they made the RSS and Atom feeds malformed, and a writer is
 * told rather than having words silently changed. Single-line fields
 * (titles, names, places) refuse every control character, tab and line
 * breaks included; multi-line ones (summary, body) keep tab and line breaks,
 * which a textarea sends.
 */
export function text(value: unknown, field: string, max: number, options: { lines?: 'single' | 'multi' } = {}): string {
  if (value === undefined || value === null) throw new BadRequestError(`${field} is required`, field);
  if (typeof value !== 'string') throw new BadRequestError(`${field} must be a string`, field);
  if (value.length > max) throw new BadRequestError(`${field} is longer than ${max} characters`, field);
  refuseUnwritableCharacters(value, field, options.lines ?? 'single');
  return value;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what these find
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\p{Cs}\ufffe\uffff]/u;
const SINGLE_LINE_FORBIDDEN = /[\p{Cc}\p{Cs}\ufffe\uffff]/u;

/** 400 naming `field` when `value` holds a control character, a lone surrogate or a noncharacter (see `text`). */
export function refuseUnwritableCharacters(value: string, field: string, lines: 'single' | 'multi'): void {
  const found = (lines === 'multi' ? MULTI_LINE_FORBIDDEN : SINGLE_LINE_FORBIDDEN).exec(value);
  if (!found) return;
  const code = found[0].codePointAt(0)!;
  const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const what = code >= 0xd800 && code <= 0xdfff ? 'an unpaired surrogate' : 'a control character';
  throw new BadRequestError(
    `${field} contains ${what} (${name}) at position ${found.index + 1}; remove it and send the text again`,
    field,
  );
}
