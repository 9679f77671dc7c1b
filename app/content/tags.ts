// Tags as editors manage them: a list with usage counts, and renaming. The
// slug (and so every tag URL) stays; the new name must reach every page that
// shows it, so each tagged article and event gets an outbox row in the same
// transaction (O(items with that tag), never the whole site).
import type { Database } from '../../common/db/database';
import { parseTagName } from '../articles/article-input';
import { NotFoundError } from '../errors';
import { oweRenders, OwedRender } from '../outbox/outbox';

export interface TagRow {
  slug: string;
  name: string;
  articles: number;
  events: number;
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
  const [articles, events] = await Promise.all([count('article_tags'), count('event_tags')]);
  return tags.map((t) => ({
    slug: t.slug,
    name: t.name,
    articles: articles.get(t.id) ?? 0,
    events: events.get(t.id) ?? 0,
  }));
}

/** Renames a tag's display name; returns how many items were queued for re-rendering. */
export async function renameTag(
  db: Database,
  slug: string,
  rawName: unknown,
  now = Date.now(),
): Promise<{ slug: string; name: string; queued: number }> {
  const name = parseTagName(rawName);
  return db.transaction(async (trx) => {
    const tag = await trx('tags').where({ slug }).forUpdate().first('id');
    if (!tag) throw new NotFoundError(`tag "${slug}"`);
    await trx('tags').where({ id: tag.id }).update({ name });
    const articles: number[] = await trx('article_tags').where({ tag_id: tag.id }).pluck('article_id');
    const events: number[] = await trx('event_tags').where({ tag_id: tag.id }).pluck('event_id');
    const owed: OwedRender[] = [
      ...articles.map((itemId) => ({ topic: 'article' as const, itemId })),
      ...events.map((itemId) => ({ topic: 'event' as const, itemId })),
    ];
    await oweRenders(trx, owed, now);
    return { slug, name, queued: owed.length };
  });
}
