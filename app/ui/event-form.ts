// Turns the editor's event form into the same EventInput the JSON API
// validates (app/events/event-input.ts). The form's date-time inputs carry
// no offset; they are read in the site's zone (SITE_TIME_ZONE), which the form names.
import { EventInput, parseEventInput } from '../events/event-input';
import { BadRequestError } from '../errors';
import { formText, postedAuthors, postedSharedValues, postedSlug, SharedFormValues } from './form-values';
import { scheduleFields } from './schedule-form';
import { fromZonedLocal, toZonedLocal } from './zoned-time';

export interface EventFormValues extends SharedFormValues {
  location: string;
  startsAt: string;
  endsAt: string;
}

const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

export function eventFormValues(body: Record<string, unknown>): EventFormValues {
  return {
    ...postedSharedValues(body),
    location: formText(body.location),
    startsAt: formText(body.startsAt),
    endsAt: formText(body.endsAt),
  };
}

/** A datetime-local value ("2026-11-22T18:30") in the site's zone as the RFC 3339 instant the event validator takes. */
function zoned(value: unknown, field: string, zone: string): string {
  if (typeof value !== 'string' || !LOCAL.test(value))
    throw new BadRequestError(`${field} must be a date and time such as 2026-11-22T18:30`, field);
  return new Date(fromZonedLocal(value, zone, field)).toISOString();
}

export function parseEventForm(body: unknown, mode: 'create' | 'update', zone: string): EventInput {
  if (typeof body !== 'object' || body === null) throw new BadRequestError('the form was empty');
  const form = body as Record<string, unknown>;
  for (const field of [
    'title',
    'slug',
    'summary',
    'body',
    'location',
    'startsAt',
    'endsAt',
    'tags',
    'authors',
    'status',
    'leadImage',
    'leadImageAlt',
  ]) {
    if (form[field] !== undefined && typeof form[field] !== 'string')
      throw new BadRequestError(`${field} was sent more than once`, field);
  }
  const raw: Record<string, unknown> = {
    title: form.title,
    summary: form.summary ?? '',
    body: form.body ?? '',
    location: form.location ?? '',
    startsAt: zoned(form.startsAt, 'startsAt', zone),
    endsAt: form.endsAt === undefined || form.endsAt === '' ? null : zoned(form.endsAt, 'endsAt', zone),
    tags: String(form.tags ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    featured: form.featured === 'on',
    ...postedSlug(form),
  };
  if (form.status !== undefined && form.status !== '') raw.status = form.status;
  Object.assign(raw, postedAuthors(form));
  // The picker's "none" radio sends an empty value: no lead image.
  if (form.leadImage !== undefined) raw.leadImage = form.leadImage === '' ? null : form.leadImage;
  if (form.leadImageAlt !== undefined) raw.leadImageAlt = form.leadImageAlt;
  return parseEventInput({ ...raw, ...scheduleFields(form, zone) }, mode);
}

/** An event time (RFC 3339) as a datetime-local value in the site's zone. */
export const toLocal = (iso: string | null, zone: string) => (iso ? toZonedLocal(Date.parse(iso), zone) : '');
