// Page bodies in write order. `blobs` was clustered by sha256 (its primary
// key), so on MariaDB/MySQL every new body landed at a random place in a
// table of all the site's bodies: once that outgrew the buffer pool, a large
// rebuild read and split pages all over it. An auto-increment key appends
// bodies in the order they are written; sha256 stays unique in a secondary
// index (about 100 bytes a body, which stays in memory).
//
// SQLite already stores rows by rowid with the primary key as a separate
// index, so there is nothing to change there.
import type { Knex } from 'knex';
import { dialectOf } from '../../../common/db/database';

export async function up(knex: Knex): Promise<void> {
  if (dialectOf(knex) !== 'mysql') return;
  await knex.raw(
    'ALTER TABLE blobs DROP PRIMARY KEY, ADD COLUMN id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST, ADD UNIQUE KEY blobs_sha256_unique (sha256)',
  );
}

export async function down(knex: Knex): Promise<void> {
  if (dialectOf(knex) !== 'mysql') return;
  await knex.raw(
    'ALTER TABLE blobs DROP PRIMARY KEY, DROP COLUMN id, DROP INDEX blobs_sha256_unique, ADD PRIMARY KEY (sha256)',
  );
}
