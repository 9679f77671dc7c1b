// Turns the editor's HTML form into the same ArticleInput the JSON API
// validates, so both paths share every rule (app/articles/article-input.ts).
import { ArticleInput, parseArticleInput } from '../articles/article-input';
import { BadRequestError } from '../errors';
import { formText, postedAuthors, postedSharedValues, postedSlug, SharedFormValues } from './form-values';
import { scheduleFields } from './schedule-form';

const FORM_FIELDS = [
  'title',
  'slug',
  'summary',
  'body',
  'section',
  'tags',
  'authors',
  'status',
  'featured',
  'live',
  'leadImage',
  'leadImageAlt',
];

export interface ArticleFormValues extends SharedFormValues {
  section: string;
  /** A live page (app/live/live-entries.ts). */
  live: boolean;
}

/** The raw values, for re-displaying a form that failed validation. Never trusted beyond that. */
export function formValues(body: Record<string, unknown>): ArticleFormValues {
  return { ...postedSharedValues(body), section: formText(body.section), live: body.live === 'on' };
}

export function parseArticleForm(
  body: unknown,
  mode: 'create' | 'update',
  options: { allowStatus: boolean; zone: string },
): ArticleInput {
  if (typeof body !== 'object' || body === null) throw new BadRequestError('the form was empty');
  const form = body as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  for (const field of FORM_FIELDS) {
    const value = form[field];
    if (value !== undefined && typeof value !== 'string')
      throw new BadRequestError(`${field} was sent more than once`, field);
  }
  raw.title = form.title;
  // The address is the desk's to choose, like placement: a public submission's is made from its title.
  if (options.allowStatus) Object.assign(raw, postedSlug(form));
  if (form.summary !== undefined) raw.summary = form.summary;
  raw.body = form.body ?? '';
  if (form.section !== undefined) raw.section = form.section === '' ? null : form.section;
  if (form.tags !== undefined) {
    const tags = String(form.tags)
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    raw.tags = tags;
  }
  // The picker's "none" radio sends an empty value: no lead image.
  if (form.leadImage !== undefined) raw.leadImage = form.leadImage === '' ? null : form.leadImage;
  if (form.leadImageAlt !== undefined) raw.leadImageAlt = form.leadImageAlt;
  if (options.allowStatus) {
    if (form.status !== undefined && form.status !== '') raw.status = form.status;
    raw.featured = form.featured === 'on';
    raw.live = form.live === 'on';
    Object.assign(raw, postedAuthors(form));
  }
  // Placement and timing are the desk's: a public submission's schedule fields are ignored like its status.
  const schedule = options.allowStatus ? scheduleFields(form, options.zone) : {};
  return parseArticleInput({ ...raw, ...schedule }, mode);
}
