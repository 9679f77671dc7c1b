// People (issue 16 item 4): the public side of an account and the authors of items.
//   users.display_name, users.bio: what bylines and author pages show; a
//     user's login name is never published (it is half of a sign-in).
//   users.slug: the author page's path segment (/authors/SLUG), unique,
//     derived from the display name and editable by an admin.
//   item_authors: an item's authors in byline order; backfilled from
//     author_id (the creator), which stays as it was.
import type { Knex } from 'knex';
import { slugify } from '../../content/slug';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('display_name', 100).nullable();
    t.string('bio', 600).notNullable().defaultTo('');
    t.string('slug', 80).nullable();
  });
  const taken = new Set<string>();
  for (const u of await knex('users').orderBy('id').select('id', 'name')) {
    const base = slugify(String(u.name), 70) || 'author';
    let slug = base;
    for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`;
    taken.add(slug);
    await knex('users').where({ id: u.id }).update({ display_name: u.name, slug });
  }
  await knex.schema.alterTable('users', (t) => {
    t.unique(['slug'], { indexName: 'users_slug_unique' });
  });

  await knex.schema.createTable('item_authors', (t) => {
    t.string('topic', 16).notNullable();
    t.integer('item_id').unsigned().notNullable();
    t.integer('position').notNullable();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users');
    t.primary(['topic', 'item_id', 'position']);
    t.unique(['topic', 'item_id', 'user_id'], { indexName: 'item_authors_item_user_unique' });
    // A display name change owes renders for every item the user signs (app/auth/people.ts).
    t.index(['user_id', 'topic', 'item_id'], 'item_authors_user_index');
  });
  for (const [table, topic] of [
    ['articles', 'article'],
    ['events', 'event'],
  ] as const) {
    await knex.raw(
      `insert into item_authors (topic, item_id, position, user_id) select ?, id, 0, author_id from ${table} where author_id is not null`,
      [topic],
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('item_authors');
  await knex.schema.alterTable('users', (t) => {
    t.dropUnique(['slug'], 'users_slug_unique');
    t.dropColumn('slug');
    t.dropColumn('bio');
    t.dropColumn('display_name');
  });
}
