// Lead images: an article or event may show one uploaded image (by its
// sha256 in `media`) with alt text, on its page and on every listing. Media
// rows also keep the size of their index-page rendition, so listings can
// give the browser its width and height without decoding anything.
import type { Knex } from 'knex';

const RENDITION_WIDTH = 480;

export async function up(knex: Knex): Promise<void> {
  for (const table of ['articles', 'events']) {
    await knex.schema.alterTable(table, (t) => {
      // No foreign key: media rows are never deleted, the save checks the
      // image exists (and is an image) in its own transaction, and adding a
      // key on SQLite would rebuild the whole table.
      t.string('lead_image', 64).nullable();
      t.string('lead_image_alt', 300).notNullable().defaultTo('');
    });
  }
  await knex.schema.alterTable('media', (t) => {
    t.integer('rendition_width').unsigned().nullable();
    t.integer('rendition_height').unsigned().nullable();
  });
  // Renditions made before this migration: sharp resized them to 480 px wide
  // keeping the aspect ratio, never enlarging.
  const rows = await knex('media')
    .whereNotNull('rendition_path')
    .whereNotNull('width')
    .whereNotNull('height')
    .select('sha256', 'width', 'height');
  for (const row of rows) {
    const width = Number(row.width);
    const height = Number(row.height);
    if (width <= 0 || height <= 0) continue;
    const renditionWidth = Math.min(RENDITION_WIDTH, width);
    await knex('media')
      .where({ sha256: row.sha256 })
      .update({ rendition_width: renditionWidth, rendition_height: Math.round((height * renditionWidth) / width) });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('media', (t) => {
    t.dropColumn('rendition_width');
    t.dropColumn('rendition_height');
  });
  for (const table of ['articles', 'events']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('lead_image');
      t.dropColumn('lead_image_alt');
    });
  }
}
