// Responsive images (issue 18 item 5): each image upload keeps the list of
// its renditions (several widths, AVIF and WebP; app/media/renditions.ts) as
// JSON, so pages can offer them in srcset without reading the journal. NULL
// means "not made yet" (uploaded before this migration): `hyperstatic media
// renditions` makes them; an empty list means the image has none (animated).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('media', (t) => {
    t.text('renditions').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('media', (t) => {
    t.dropColumn('renditions');
  });
}
