// Validation of event writes from the API: the shared item fields
// (app/content/item-input.ts) plus where and when. Pure, so every rule is
// unit tested with plain data.
import { InputMode, ItemInput, ItemStatus, parseItemInput, text } from '../content/item-input';
import { BadRequestError } from '../errors';

export type EventStatus = ItemStatus;

export interface EventInput extends ItemInput {
  location?: string;
  startsAt?: number;
  endsAt?: number | null;
}

const LOCATION_MAX = 300;

// RFC 3339 date-time with an explicit offset (Z or ±hh:mm), seconds optional.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks a JSON body for POST (title, body, startsAt required) or PUT (every field optional). */
export function parseEventInput(raw: unknown, mode: InputMode): EventInput {
  return parseItemInput<EventInput>(raw, mode, {
    fields: ['location', 'startsAt', 'endsAt'],
    slugExample: 'open-day',
    own(body, input) {
      if (body.location !== undefined) input.location = text(body.location, 'location', LOCATION_MAX).trim();
      if (body.startsAt !== undefined || mode === 'create') input.startsAt = parseDateTime(body.startsAt, 'startsAt');
      if (body.endsAt !== undefined) input.endsAt = body.endsAt === null ? null : parseDateTime(body.endsAt, 'endsAt');
      if (input.startsAt !== undefined && input.endsAt != null && input.endsAt < input.startsAt) {
        throw new BadRequestError('endsAt must not be before startsAt', 'endsAt');
      }
    },
  });
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
