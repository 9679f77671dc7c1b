// Tags as editors manage them: a list with usage counts, and renaming. The
// slug (and so every tag URL) stays; the new name must reach every page that
// shows it, so each tagged article and event gets an outbox row in the same
// transaction (O(items with that tag), never the whole site).
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { NotFoundError } from '../errors';
import { oweRenders, OwedRender } from '../outbox/outbox';
import { parseTagName } from './item-input';
import { ITEM_KINDS } from './item-kinds';

export interface TagRow {
  slug: string;
  name: string;
  /** How many items of each kind use the tag, by the kind's plural ("articles", "events"). */
  [kindPlural: string]: string | number;
}

export async function listTags(db: Database): Promise<TagRow[]> {
  const tags: { id: number; slug: string; name: string }[] = await db('tags')
    .orderBy('name')
    .select('id', 'slug', 'name');
  const count = async (table: string) => {
    const rows: { tag_id: number; n: number | string }[] = await db(table)
      .groupBy('tag_id')
      .select('tag_id')
      .count({ n: '*' });
    return new Map(rows.map((r) => [Number(r.tag_id), Number(r.n)]));
  };
  const counts = await Promise.all(ITEM_KINDS.map((kind) => count(kind.tagLink.table)));
  return tags.map((t) => ({
    slug: t.slug,
    name: t.name,
    ...Object.fromEntries(ITEM_KINDS.map((kind, i) => [kind.plural, counts[i].get(t.id) ?? 0])),
  }));
}

/**
 * Renames a tag's display name inside the caller's transaction (so an API
 * request's idempotency key commits with it); returns how many items owe a
 * re-render.
 */
export async function renameTag(
  trx: Knex.Transaction,
  slug: string,
  rawName: unknown,
  now = Date.now(),
): Promise<{ slug: string; name: string; queued: number }> {
  const name = parseTagName(rawName);
  const tag = await trx('tags').where({ slug }).forUpdate().first('id');
  if (!tag) throw new NotFoundError(`tag "${slug}"`);
  await trx('tags').where({ id: tag.id }).update({ name });
  const owed: OwedRender[] = [];
  for (const { name: topic, tagLink } of ITEM_KINDS) {
    const ids: number[] = await trx(tagLink.table).where({ tag_id: tag.id }).pluck(tagLink.column);
    owed.push(...ids.map((itemId) => ({ topic, itemId })));
  }
  await oweRenders(trx, owed, now);
  return { slug, name, queued: owed.length };
}
