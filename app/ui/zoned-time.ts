// The editor shows and reads scheduled times as wall-clock times in the
// site's time zone (SITE_TIME_ZONE); the API takes instants with an offset.
// The zone's rules (offsets, daylight saving) are Intl's, never a fixed
// offset kept here: an instant's wall time is Intl's formatting of it, and a
// wall time's instant is found by correcting a guess until Intl formats it
// back to the wall time asked for. Pure.
import { wallTime } from '../../common/wall-time';
import { BadRequestError } from '../errors';

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** An instant as the value of a datetime-local input in `zone` ("2026-12-07T10:30"); '' for none. */
export function toZonedLocal(ms: number | null, zone: string): string {
  return ms === null ? '' : wallTime(ms, zone).slice(0, 16);
}

/** The wall time `local` in `zone` as an instant, or 400 naming `field` (malformed, or skipped by a clock change). */
export function fromZonedLocal(local: string, zone: string, field: string): number {
  const m = LOCAL.exec(local);
  if (!m) throw new BadRequestError(`${field} must be a date and time such as 2026-11-22T18:30`, field);
  const wanted = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`;
  const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  // 2026-02-30 or 25:00 are refused, not rolled over.
  if (new Date(asUtc).toISOString().slice(0, 19) !== wanted)
    throw new BadRequestError(`${field} is not a real date and time: ${JSON.stringify(local)}`, field);
  // The zone's wall time at the guess differs from the one wanted by the zone's offset there; two
  // corrections settle a guess that straddled a change of offset.
  let at = asUtc;
  for (let i = 0; i < 2; i++) at += asUtc - Date.parse(`${wallTime(at, zone)}Z`);
  if (wallTime(at, zone) !== wanted)
    throw new BadRequestError(`${field}: ${local} does not exist in ${zone} (the clocks skip it)`, field);
  return at;
}

/** The zone with its offset at `ms`, for labels: "Europe/Berlin, GMT+01:00". */
export function zoneLabel(zone: string, ms: number): string {
  const offset = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(ms))
    .find((p) => p.type === 'timeZoneName')?.value;
  return offset && zone !== 'UTC' ? `${zone}, ${offset}` : zone;
}

/** An instant for people: "2026-12-07 10:30 (Europe/Berlin)". */
export function zonedDisplay(ms: number | null, zone: string): string {
  return ms === null ? '' : `${toZonedLocal(ms, zone).replace('T', ' ')} (${zone})`;
}
