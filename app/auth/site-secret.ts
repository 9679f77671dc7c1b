// One random secret per site, created on first use and kept in the settings
// table so every app instance agrees. Each use derives its own key from it
// (HMAC of a purpose label), so no two purposes share a key.
import { createHmac, randomBytes } from 'node:crypto';
import type { Database } from '../../common/db/database';

export type SecretPurpose = 'idempotency' | 'trusted-browser' | 'preview-link';

export type KeyedHash = (purpose: SecretPurpose, data: string) => string;

async function siteSecret(db: Database): Promise<Buffer> {
  const read = async () => (await db('settings').where({ name: 'site_secret' }).first('value'))?.value as string;
  const existing = await read();
  if (existing) return Buffer.from(existing, 'base64url');
  await db('settings')
    .insert({ name: 'site_secret', value: randomBytes(32).toString('base64url') })
    .onConflict('name')
    .ignore();
  return Buffer.from(await read(), 'base64url');
}

/**
 * A keyed hash (HMAC-SHA256, hex) for `purpose`, once the site's secret has
 * been read; read once per process. A failed read is retried next time.
 */
export function createKeyedHash(db: Database): () => Promise<KeyedHash> {
  let loading: Promise<KeyedHash> | undefined;
  return () => {
    loading ??= siteSecret(db).then(
      (secret) => (purpose, data) =>
        createHmac('sha256', createHmac('sha256', secret).update(purpose).digest()).update(data).digest('hex'),
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    );
    return loading;
  };
}

const perDatabase = new WeakMap<Database, () => Promise<KeyedHash>>();

/** The keyed hash of `db`'s site, loaded once per process and database handle. */
export function keyedHashOf(db: Database): Promise<KeyedHash> {
  let load = perDatabase.get(db);
  if (!load) {
    load = createKeyedHash(db);
    perDatabase.set(db, load);
  }
  return load();
}
