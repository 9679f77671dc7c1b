// The schedule fields of the editor's item forms (publish at, take down at,
// first published), shown and read in the site's time zone
// (app/ui/zoned-time.ts) and handed to the API's validation as RFC 3339
// instants. Each field is sent with the value the form showed
// (`publishAtWas`…): an unchanged field is not sent, so re-saving a form
// keeps the stored instant to the millisecond; an emptied one cancels.
import { BadRequestError } from '../errors';
import type { Item } from '../content/item-kind';
import { fromZonedLocal, toZonedLocal } from './zoned-time';

export const SCHEDULE_FIELDS = ['publishAt', 'unpublishAt', 'publishedAt'] as const;
type ScheduleField = (typeof SCHEDULE_FIELDS)[number];

export type ScheduleTimes = Record<ScheduleField, string>;

export interface ScheduleFormValues extends ScheduleTimes {
  /** What the form showed, posted back beside each field. */
  was: ScheduleTimes;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export function scheduleValuesOf(item: Item, zone: string): ScheduleFormValues {
  const times = {
    publishAt: toZonedLocal(item.publishAt, zone),
    unpublishAt: toZonedLocal(item.unpublishAt, zone),
    publishedAt: toZonedLocal(item.publishedAt, zone),
  };
  return { ...times, was: { ...times } };
}

export function postedScheduleValues(body: Record<string, unknown>): ScheduleFormValues {
  const pick = (suffix: string) =>
    Object.fromEntries(SCHEDULE_FIELDS.map((f) => [f, text(body[`${f}${suffix}`])])) as ScheduleTimes;
  return { ...pick(''), was: pick('Was') };
}

/** The API input fields for what the editor changed in the schedule. */
export function scheduleFields(form: Record<string, unknown>, zone: string): Record<string, string | null> {
  const raw: Record<string, string | null> = {};
  for (const field of SCHEDULE_FIELDS) {
    const value = form[field];
    const was = form[`${field}Was`] ?? '';
    if (value === undefined) continue;
    if (typeof value !== 'string' || typeof was !== 'string')
      throw new BadRequestError(`${field} was sent more than once`, field);
    if (value === was) continue;
    // An emptied first-publication date is left as it was: a published item always has one.
    if (value === '') {
      if (field !== 'publishedAt') raw[field] = null;
      continue;
    }
    raw[field] = new Date(fromZonedLocal(value, zone, field)).toISOString();
  }
  return raw;
}
