// The form fields every kind's edit form has, as the form shows them: for an
// item being edited, and for a posted form shown again after a refusal
// (never trusted beyond that).
import type { Item } from '../content/item-kind';
import { postedScheduleValues, ScheduleFormValues, scheduleValuesOf } from './schedule-form';

export interface SharedFormValues {
  title: string;
  /** The address's last segment; '' on a new item: made from the title. */
  slug: string;
  summary: string;
  body: string;
  tags: string;
  /** Login names of the authors, comma-separated; '' on a new item: the user creating it. */
  authors: string;
  status: string;
  featured: boolean;
  /** sha256 of the chosen lead image, '' for none. */
  leadImage: string;
  leadImageAlt: string;
  /** Publish at, take down at, first published: wall times in the site's zone. */
  schedule: ScheduleFormValues;
}

/** A posted field's text, or '' when absent or sent more than once. */
export const formText = (v: unknown): string => (typeof v === 'string' ? v : '');

export function postedSharedValues(body: Record<string, unknown>): SharedFormValues {
  return {
    title: formText(body.title),
    slug: formText(body.slug),
    summary: formText(body.summary),
    body: formText(body.body),
    tags: formText(body.tags),
    authors: formText(body.authors),
    status: formText(body.status),
    featured: body.featured === 'on',
    leadImage: formText(body.leadImage),
    leadImageAlt: formText(body.leadImageAlt),
    schedule: postedScheduleValues(body),
  };
}

/**
 * The slug field as the API takes it: left empty, the slug is not sent (a new
 * item's is made from its title, a saved item keeps its own); otherwise
 * trimmed, and checked like the API's (app/content/item-input.ts).
 */
export function postedSlug(form: Record<string, unknown>): { slug?: unknown } {
  if (form.slug === undefined) return {};
  if (typeof form.slug !== 'string') return { slug: form.slug };
  const slug = form.slug.trim();
  // Unchanged from what the form showed (slugWas): no move. A form opened before someone else moved the
  // item must not move it back.
  if (typeof form.slugWas === 'string' && slug === form.slugWas) return {};
  return slug === '' ? {} : { slug };
}

/**
 * The authors the form posted, unless they are the ones it showed (authorsWas): a form opened before
 * someone else changed the byline must not change it back. Left empty: a new item is signed by the user
 * creating it, an edited one keeps its authors.
 */
export function postedAuthors(form: Record<string, unknown>): { authors?: string[] } {
  const authors = formList(form.authors);
  if (authors.length === 0) return {};
  if (typeof form.authorsWas === 'string' && authors.join(',') === formList(form.authorsWas).join(',')) return {};
  return { authors };
}

export function sharedValuesOf(item: Item, zone: string): SharedFormValues {
  return {
    title: item.title,
    slug: item.slug,
    summary: item.summary,
    body: item.body,
    tags: item.tags.join(', '),
    authors: item.authors.join(', '),
    status: item.status,
    featured: item.featured,
    leadImage: item.leadImage?.sha256 ?? '',
    leadImageAlt: item.leadImage?.alt ?? '',
    schedule: scheduleValuesOf(item, zone),
  };
}

/** A comma-separated form field as its trimmed, non-empty values. */
export function formList(value: unknown): string[] {
  return String(value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
