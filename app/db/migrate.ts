// Runs the knex migrations. The list is static (not a directory scan) so it
// works the same under tsx, in tests and in production.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import * as initial from './migrations/001-initial';
import * as events from './migrations/002-events';
import * as producer from './migrations/003-producer';
import * as mirrors from './migrations/004-mirrors';
import * as editor from './migrations/005-editor';
import * as failover from './migrations/006-failover';
import * as leadImages from './migrations/007-lead-images';
import * as mirrorCredentials from './migrations/008-mirror-credentials';
import * as blobsInWriteOrder from './migrations/009-blobs-in-write-order';
import * as cardHtml from './migrations/010-card-html';
import * as takedown from './migrations/011-takedown';
import * as trustStatements from './migrations/012-trust-statements';
import * as mirrorFreshness from './migrations/013-mirror-freshness';
import * as coalescedRender from './migrations/014-coalesced-render';
import * as semiSyncRecord from './migrations/015-semi-sync-record';
import * as mirrorList from './migrations/016-mirror-list';
import * as schedule from './migrations/017-schedule';
import * as compressedVariants from './migrations/018-compressed-variants';
import * as accounts from './migrations/019-accounts';
import * as editorSearch from './migrations/020-editor-search';
import * as mediaOnPublish from './migrations/021-media-on-publish';
import * as liveCoverage from './migrations/022-live-coverage';
import * as previewsAndNotes from './migrations/023-previews-and-notes';
import * as responsiveImages from './migrations/024-responsive-images';
import * as searchIndex from './migrations/025-search-index';
import * as revisionNumbers from './migrations/026-revision-numbers';
import * as people from './migrations/027-people';
import * as slugRedirects from './migrations/028-slug-redirects';

const migrations: Record<string, Knex.Migration> = {
  '001-initial': initial,
  '002-events': events,
  '003-producer': producer,
  '004-mirrors': mirrors,
  '005-editor': editor,
  '006-failover': failover,
  '007-lead-images': leadImages,
  '008-mirror-credentials': mirrorCredentials,
  '009-blobs-in-write-order': blobsInWriteOrder,
  '010-card-html': cardHtml,
  '011-takedown': takedown,
  '012-trust-statements': trustStatements,
  '013-mirror-freshness': mirrorFreshness,
  '014-coalesced-render': coalescedRender,
  '015-semi-sync-record': semiSyncRecord,
  '016-mirror-list': mirrorList,
  '017-schedule': schedule,
  '018-compressed-variants': compressedVariants,
  '019-accounts': accounts,
  '020-editor-search': editorSearch,
  '021-media-on-publish': mediaOnPublish,
  '022-live-coverage': liveCoverage,
  '023-previews-and-notes': previewsAndNotes,
  '024-responsive-images': responsiveImages,
  '025-search-index': searchIndex,
  '026-revision-numbers': revisionNumbers,
  '027-people': people,
  '028-slug-redirects': slugRedirects,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};

/** Applies pending migrations; returns the names applied. */
export async function migrateLatest(db: Database): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

export async function pendingMigrations(db: Database): Promise<string[]> {
  const [, pending] = (await db.migrate.list({ migrationSource: source })) as [unknown, { file?: string }[] | string[]];
  return pending.map((p) => (typeof p === 'string' ? p : String(p.file)));
}

/** Applies pending migrations up to and including `last` (tests of a migration over older data). */
export async function migrateUpTo(db: Database, last: string): Promise<void> {
  if (!(last in migrations)) throw new Error(`no migration named ${last}`);
  for (const name of Object.keys(migrations)) {
    if ((await pendingMigrations(db)).includes(name)) await db.migrate.up({ migrationSource: source, name });
    if (name === last) return;
  }
}
