// Turns the editor's event form into the same EventInput the JSON API
// validates (app/events/event-input.ts). The form's date-time inputs carry
// no offset; they are read as UTC, which the form says.
import { EventInput, parseEventInput } from '../events/event-input';
import { BadRequestError } from '../errors';
import { formText, postedSharedValues, SharedFormValues } from './form-values';
import { scheduleFields } from './schedule-form';

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

/** A datetime-local value ("2026-11-22T18:30") as the RFC 3339 UTC string the event validator takes. */
function utc(value: unknown, field: string): string {
  if (typeof value !== 'string' || !LOCAL.test(value))
    throw new BadRequestError(`${field} must be a date and time such as 2026-11-22T18:30`, field);
  return `${value.length === 16 ? `${value}:00` : value}Z`;
}

export function parseEventForm(body: unknown, mode: 'create' | 'update', zone: string): EventInput {
  if (typeof body !== 'object' || body === null) throw new BadRequestError('the form was empty');
  const form = body as Record<string, unknown>;
  for (const field of [
    'title',
    'summary',
    'body',
    'location',
    'startsAt',
    'endsAt',
    'tags',
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
    startsAt: utc(form.startsAt, 'startsAt'),
    endsAt: form.endsAt === undefined || form.endsAt === '' ? null : utc(form.endsAt, 'endsAt'),
    tags: String(form.tags ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    featured: form.featured === 'on',
  };
  if (form.status !== undefined && form.status !== '') raw.status = form.status;
  // The picker's "none" radio sends an empty value: no lead image.
  if (form.leadImage !== undefined) raw.leadImage = form.leadImage === '' ? null : form.leadImage;
  if (form.leadImageAlt !== undefined) raw.leadImageAlt = form.leadImageAlt;
  return parseEventInput({ ...raw, ...scheduleFields(form, zone) }, mode);
}

export const toLocal = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');
