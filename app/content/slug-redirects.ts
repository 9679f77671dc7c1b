// Changing an item's slug (docs/api.md, "Slugs"). A draft that was never
// public just takes the new slug. An item whose URL has been public (it has
// a publication date) keeps its old slug as a redirect (slug_redirects,
// migration 026): the producer journals a redirect page at the old path that
// points at the item's CURRENT slug, so a chain of renames (a → b → c) always
// ends on the live page. A slug that is a redirect stays reserved for the item
// that left it: another item of the kind asking for it is refused (409)
// rather than silently breaking the links that still use it; the item itself
// may take it back, which removes the redirect.
import type { Knex } from 'knex';
import { ConflictError } from '../errors';
import type { ItemKind, Row } from './item-kind';
import type { Reader } from './item-kind';

/** Who holds `slug` in `kind`: an item as its current slug, or as a former one (a redirect); undefined when free. */
export async function slugHolder(
  db: Reader,
  kind: Pick<ItemKind, 'name' | 'plural'>,
  slug: string,
): Promise<{ id: number; redirect: boolean } | undefined> {
  const item = await db(kind.plural).where({ slug }).first('id');
  if (item) return { id: Number(item.id), redirect: false };
  const former = await db('slug_redirects').where({ topic: kind.name, slug }).first('item_id');
  return former ? { id: Number(former.item_id), redirect: true } : undefined;
}

/** 409 naming the slug field unless `slug` is free in `kind` or held by item `ownId` itself. */
export async function claimSlug(
  trx: Knex.Transaction,
  kind: Pick<ItemKind, 'name' | 'plural' | 'aName'>,
  slug: string,
  ownId?: number,
): Promise<void> {
  const holder = await slugHolder(trx, kind, slug);
  if (!holder || holder.id === ownId) return;
  throw new ConflictError(
    holder.redirect
      ? `slug "${slug}" is a former slug of another ${kind.name} and still redirects to it; choose another`
      : `slug "${slug}" is already taken by another ${kind.name}`,
    'slug',
  );
}

/**
 * Moves item `current` to `slug` inside the save's transaction: refuses a
 * slug another item holds, drops the item's own redirect from `slug` (it
 * takes it back) and, when the old URL has been public, keeps it as a redirect.
 */
export async function changeSlug(
  trx: Knex.Transaction,
  kind: Pick<ItemKind, 'name' | 'plural' | 'aName'>,
  current: Row,
  slug: string,
  at: number,
): Promise<void> {
  const id = Number(current.id);
  await claimSlug(trx, kind, slug, id);
  await trx('slug_redirects').where({ topic: kind.name, slug, item_id: id }).delete();
  if (current.published_at != null)
    await trx('slug_redirects').insert({ topic: kind.name, slug: current.slug, item_id: id, created_at: at });
}

/** The item's former slugs that redirect to it, oldest first. */
export async function formerSlugs(db: Reader, topic: string, id: number): Promise<string[]> {
  const rows = await db('slug_redirects').where({ topic, item_id: id }).orderBy('created_at').select('slug');
  return rows.map((r) => String(r.slug));
}
