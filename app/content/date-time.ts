// Instants in API input: RFC 3339 date-times with an explicit offset
// (startsAt and endsAt of events, publishAt, unpublishAt and publishedAt of
// every kind). A time without an offset means a different instant in every
// time zone, so it is refused rather than guessed. Pure.
import { BadRequestError } from '../errors';

// RFC 3339 date-time with an explicit offset (Z or ±hh:mm), seconds optional.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

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

/** An RFC 3339 instant, or null (clears it); absent stays undefined. */
export function optionalInstant(value: unknown, field: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return parseDateTime(value, field);
}
