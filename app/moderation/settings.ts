// Site settings kept in the database (so every app instance agrees).
import { randomBytes } from 'node:crypto';
import type { Database } from '../../common/db/database';
import { BadRequestError } from '../errors';

/** off: no public form; held: submissions wait for a moderator; published: they go live at once. */
export const OPEN_PUBLISHING_MODES = ['off', 'held', 'published'] as const;
export type OpenPublishingMode = (typeof OPEN_PUBLISHING_MODES)[number];

export interface SiteSettings {
  openPublishing: OpenPublishingMode;
}

const DEFAULTS: SiteSettings = { openPublishing: 'held' };

export async function readSettings(db: Database): Promise<SiteSettings> {
  const row = await db('settings').where({ name: 'open_publishing' }).first('value');
  const mode =
    row && OPEN_PUBLISHING_MODES.includes(row.value) ? (row.value as OpenPublishingMode) : DEFAULTS.openPublishing;
  return { openPublishing: mode };
}

export function parseOpenPublishing(raw: unknown): OpenPublishingMode {
  if (typeof raw !== 'string' || !OPEN_PUBLISHING_MODES.includes(raw as OpenPublishingMode)) {
    throw new BadRequestError(`open publishing must be one of ${OPEN_PUBLISHING_MODES.join(', ')}`, 'openPublishing');
  }
  return raw as OpenPublishingMode;
}

export async function writeSettings(db: Database, settings: SiteSettings): Promise<SiteSettings> {
  const mode = parseOpenPublishing(settings.openPublishing);
  await db('settings').insert({ name: 'open_publishing', value: mode }).onConflict('name').merge();
  return { openPublishing: mode };
}

/** A per-site secret for hashing submitters' addresses, created on first use; shared by every app instance. */
export async function addressSalt(db: Database): Promise<string> {
  const row = await db('settings').where({ name: 'address_salt' }).first('value');
  if (row) return row.value as string;
  await db('settings')
    .insert({ name: 'address_salt', value: randomBytes(24).toString('base64url') })
    .onConflict('name')
    .ignore();
  return (await db('settings').where({ name: 'address_salt' }).first('value')).value as string;
}
