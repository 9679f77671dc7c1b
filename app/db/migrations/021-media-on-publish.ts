// Media go public with the first visible item that shows them, not at
// upload (issue 17: an image uploaded for an embargoed story reached every
// mirror before the story). The journal entry of an image's index-page
// rendition names the rendition's own hash and size, which until now only
// the upload's journal entry kept: the media row keeps them, so a save
// that makes an item visible can journal the rendition too
// (app/media/shown-media.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('media', (t) => {
    t.string('rendition_sha256', 64).nullable();
    t.bigInteger('rendition_size').nullable();
    // The origin's /blobs/SHA finds a rendition's media row by it (app/media/media-store.ts, liveFile).
    t.index(['rendition_sha256']);
  });
  // Renditions uploaded before this migration were journaled at upload: their live page row has both.
  const rows = await knex('media as m')
    .join('pages as p', 'p.path', 'm.rendition_path')
    .whereNotNull('p.sha256')
    .select('m.sha256', 'p.sha256 as rendition_sha256', 'p.size as rendition_size');
  for (const row of rows)
    await knex('media')
      .where({ sha256: row.sha256 })
      .update({ rendition_sha256: row.rendition_sha256, rendition_size: Number(row.rendition_size) });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('media', (t) => {
    t.dropIndex(['rendition_sha256']);
    t.dropColumn('rendition_sha256');
    t.dropColumn('rendition_size');
  });
}
