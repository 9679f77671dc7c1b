// People: the public side of an account (display name, short bio, author
// page slug) and the authors of items. Bylines and author pages publish
// these, never the login name, which is half of a sign-in. A change that
// shows on public pages owes renders for every item the person signs, in
// the same transaction (docs/design.md, "Publish path"): the producer's
// dependency model then re-renders their author page and the pages showing
// their byline (producer/affected-pages.ts).
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { text } from '../content/item-input';
import { slugify, SLUG_PATTERN } from '../content/slug';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';
import { oweRenders } from '../outbox/outbox';
import { ForbiddenError } from './auth-errors';

export const PROFILE_LIMITS = { displayName: 100, bio: 600, slug: 80 } as const;

type Db = Database | Knex.Transaction;
type Topic = 'article' | 'event';

export interface Profile {
  name: string;
  displayName: string;
  bio: string;
  slug: string;
}

export interface ProfileChange {
  displayName?: string;
  bio?: string;
  slug?: string;
}

/** Checks a profile change (JSON or form values); 400 naming the field. */
export function parseProfileChange(raw: Record<string, unknown>): ProfileChange {
  const change: ProfileChange = {};
  if (raw.displayName !== undefined) {
    const displayName = text(raw.displayName, 'displayName', PROFILE_LIMITS.displayName).trim();
    if (displayName === '') throw new BadRequestError('displayName must not be empty', 'displayName');
    change.displayName = displayName;
  }
  if (raw.bio !== undefined) change.bio = text(raw.bio, 'bio', PROFILE_LIMITS.bio, { lines: 'multi' }).trim();
  if (raw.slug !== undefined) {
    const slug = text(raw.slug, 'slug', PROFILE_LIMITS.slug);
    if (!SLUG_PATTERN.test(slug))
      throw new BadRequestError('slug must be lowercase letters, digits and single hyphens (e.g. "ana-lima")', 'slug');
    change.slug = slug;
  }
  return change;
}

export async function findProfile(db: Db, name: string): Promise<Profile> {
  const row = await db('users').where({ name }).first('name', 'display_name', 'bio', 'slug');
  if (!row) throw new NotFoundError(`user "${name}"`);
  return { name: row.name, displayName: row.display_name ?? row.name, bio: row.bio ?? '', slug: row.slug ?? '' };
}

/** A free author slug from `text` (a display name): the slug itself, or with -2, -3… appended. */
export async function freeAuthorSlug(db: Db, text: string, exceptUserId?: number): Promise<string> {
  const base = slugify(text, PROFILE_LIMITS.slug - 6) || 'author';
  for (let n = 1; ; n++) {
    const slug = n === 1 ? base : `${base}-${n}`;
    const q = db('users').where({ slug });
    if (exceptUserId !== undefined) q.whereNot({ id: exceptUserId });
    if (!(await q.first('id'))) return slug;
  }
}

/**
 * Changes a user's profile. `by` is who asks: the user themselves or an
 * admin; only an admin changes the slug (it is the author page's address,
 * which links and search engines keep). Returns the profile as stored.
 */
export async function updateProfile(
  trx: Knex.Transaction,
  name: string,
  change: ProfileChange,
  by: { name: string; role: string },
  now = Date.now(),
): Promise<Profile & { changed: string[] }> {
  if (by.name !== name && by.role !== 'admin') throw new ForbiddenError("only admins change other users' profiles");
  if (change.slug !== undefined && by.role !== 'admin')
    throw new ForbiddenError('only admins change the author page address (slug)');
  const user = await trx('users').where({ name }).forUpdate().first('id', 'display_name', 'bio', 'slug');
  if (!user) throw new NotFoundError(`user "${name}"`);
  if (change.slug !== undefined && change.slug !== user.slug) {
    if (await trx('users').where({ slug: change.slug }).whereNot({ id: user.id }).first('id'))
      throw new ConflictError(`slug "${change.slug}" is another author's`, 'slug');
  }
  const row: Record<string, unknown> = {};
  if (change.displayName !== undefined && change.displayName !== user.display_name)
    row.display_name = change.displayName;
  if (change.bio !== undefined && change.bio !== user.bio) row.bio = change.bio;
  if (change.slug !== undefined && change.slug !== user.slug) row.slug = change.slug;
  else if (row.display_name !== undefined && !(await trx('item_authors').where({ user_id: user.id }).first('item_id')))
    // Derived from the display name while no item is signed (no author page can have been public);
    // from the first byline on, the address stays unless an admin moves it.
    row.slug = await freeAuthorSlug(trx, String(row.display_name), user.id);
  if (row.slug === user.slug) delete row.slug;
  if (Object.keys(row).length) {
    await trx('users').where({ id: user.id }).update(row);
    // Bylines and the author page are rendered with each item the person signs.
    const items = await trx('item_authors').where({ user_id: user.id }).select('topic', 'item_id');
    await oweRenders(
      trx,
      items.map((i) => ({ topic: i.topic as Topic, itemId: Number(i.item_id) })),
      now,
    );
  }
  const changed = Object.keys(row).map((c) => ({ display_name: 'displayName', bio: 'bio', slug: 'slug' })[c]!);
  return { ...(await findProfile(trx, name)), changed };
}

/**
 * User ids for login names, in order, each once (names that differ only in case are one account on
 * MariaDB's collation: the first keeps its place); 400 naming `authors` for a name that is no account.
 */
export async function authorIds(db: Db, names: string[]): Promise<number[]> {
  const rows = names.length ? await db('users').whereIn('name', names).select('id', 'name') : [];
  const byName = new Map(rows.map((r) => [String(r.name).toLowerCase(), Number(r.id)]));
  const ids = names.map((n) => {
    const id = byName.get(n.toLowerCase());
    if (id === undefined) throw new BadRequestError(`authors: no user is called "${n}"`, 'authors');
    return id;
  });
  return [...new Set(ids)];
}

/** Replaces an item's authors (byline order) inside a save's transaction. */
export async function setItemAuthors(trx: Knex.Transaction, topic: Topic, itemId: number, userIds: number[]) {
  // A plain (non-locking) read first: deleting rows that are not there (a new item) takes InnoDB gap
  // locks, and concurrent creates then deadlock on each other's inserts (seen at 500 saves at once).
  const existing = (
    await trx('item_authors').where({ topic, item_id: itemId }).orderBy('position').select('user_id')
  ).map((r) => Number(r.user_id));
  if (existing.length === userIds.length && existing.every((id, i) => id === userIds[i])) return;
  if (existing.length > 0) await trx('item_authors').where({ topic, item_id: itemId }).delete();
  if (userIds.length)
    await trx('item_authors').insert(
      userIds.map((user_id, position) => ({ topic, item_id: itemId, position, user_id })),
    );
}

/** Login names of the authors of items, in byline order. */
export async function authorsOf(db: Db, topic: Topic, ids: number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (ids.length === 0) return out;
  const rows = await db('item_authors')
    .join('users', 'users.id', 'item_authors.user_id')
    .where('item_authors.topic', topic)
    .whereIn('item_authors.item_id', ids)
    .orderBy(['item_authors.item_id', 'item_authors.position'])
    .select('item_authors.item_id', 'users.name');
  for (const r of rows) {
    const list = out.get(Number(r.item_id)) ?? [];
    list.push(String(r.name));
    out.set(Number(r.item_id), list);
  }
  return out;
}
