// Mirrors report their sync state to the origin (`POST /mirror-status`);
// the origin keeps the latest report per mirror so `hyperstatic status` and
// the editor's propagation panel can show every mirror's lag in one place.
import type { Database } from '../../common/db/database';
import { BadRequestError } from '../errors';

export interface MirrorStatusReport {
  name: string;
  url: string;
  cursor: number;
  epoch: number;
  head: number;
  lagEntries: number;
  lagSeconds: number;
  connected: boolean;
  source: string | null;
  lastError: string | null;
  /** Until when the mirror's newest signed heartbeat vouches for its copy (ms); null before any. */
  freshUntil: number | null;
}

export interface MirrorStatus extends MirrorStatusReport {
  /** When the origin received the report, ms since the epoch. */
  reportedAt: number;
  /** Seconds since that report, at the time of reading. */
  ageSeconds: number;
}

function shortText(value: unknown, field: string, max: number, nullable: boolean): string | null {
  if (value === null || value === undefined) {
    if (nullable) return null;
    throw new BadRequestError(`${field} is required`, field);
  }
  if (typeof value !== 'string') throw new BadRequestError(`${field} must be a string`, field);
  // eslint-disable-next-line no-control-regex -- control characters have no place in a name or URL
  if (/[\0-\x1f\x7f]/.test(value)) throw new BadRequestError(`${field} contains control characters`, field);
  return value.slice(0, max);
}

function count(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new BadRequestError(`${field} must be a non-negative integer`, field);
  return value as number;
}

/** Validates a report body; throws BadRequestError naming the first bad field. Pure. */
export function parseMirrorStatusReport(body: unknown): MirrorStatusReport {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('send a JSON object');
  const b = body as Record<string, unknown>;
  const name = shortText(b.name, 'name', 200, false) as string;
  if (name === '') throw new BadRequestError('name must not be empty', 'name');
  const lagSeconds = b.lagSeconds;
  if (typeof lagSeconds !== 'number' || !Number.isFinite(lagSeconds) || lagSeconds < 0)
    throw new BadRequestError('lagSeconds must be a non-negative number', 'lagSeconds');
  if (typeof b.connected !== 'boolean') throw new BadRequestError('connected must be true or false', 'connected');
  return {
    name,
    url: shortText(b.url, 'url', 500, true) ?? '',
    cursor: count(b.cursor, 'cursor'),
    epoch: count(b.epoch, 'epoch'),
    head: count(b.head, 'head'),
    lagEntries: count(b.lagEntries, 'lagEntries'),
    lagSeconds,
    connected: b.connected,
    source: shortText(b.source, 'source', 500, true),
    lastError: shortText(b.lastError, 'lastError', 1000, true),
    freshUntil: b.freshUntil === undefined || b.freshUntil === null ? null : count(b.freshUntil, 'freshUntil'),
  };
}

export async function recordMirrorStatus(db: Database, report: MirrorStatusReport, now: number): Promise<void> {
  const row = {
    name: report.name,
    url: report.url,
    cursor: report.cursor,
    epoch: report.epoch,
    head: report.head,
    lag_entries: report.lagEntries,
    lag_seconds: report.lagSeconds,
    connected: report.connected,
    source: report.source,
    last_error: report.lastError,
    fresh_until: report.freshUntil,
    reported_at: now,
  };
  await db('mirror_status').insert(row).onConflict('name').merge();
}

/** Every mirror's latest report, by name; for `hyperstatic status` and the propagation panel. */
export async function mirrorStatuses(db: Database, now = Date.now()): Promise<MirrorStatus[]> {
  const rows = (await db('mirror_status').orderBy('name')) as Record<string, unknown>[];
  return rows.map((r) => ({
    name: r.name as string,
    url: r.url as string,
    cursor: Number(r.cursor),
    epoch: Number(r.epoch),
    head: Number(r.head),
    lagEntries: Number(r.lag_entries),
    lagSeconds: Number(r.lag_seconds),
    connected: Boolean(r.connected),
    source: (r.source as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    freshUntil: r.fresh_until == null ? null : Number(r.fresh_until),
    reportedAt: Number(r.reported_at),
    ageSeconds: Math.max(0, (now - Number(r.reported_at)) / 1000),
  }));
}
