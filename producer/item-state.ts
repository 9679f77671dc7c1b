// What the dependency model knows about an item: derived from its database
// row, stored after each render (render_state) as the next save's "before".
import { monthOf, sitemapShardOf } from '../common/site-paths';
import type { ItemState, Membership } from './affected-pages';
import type { ArticleRow, EventRow } from './site-queries';

export interface StoredState extends ItemState {
  /** Listing order (published_at for articles, starts_at for events). */
  sortAt: number;
}

export function articleState(a: ArticleRow): StoredState {
  const visible = a.status === 'published' && a.publishedAt !== null;
  const sortAt = a.publishedAt ?? a.updatedAt;
  const month = monthOf(sortAt);
  const memberships: Membership[] = [{ key: 'all', bucket: month }];
  if (a.section) memberships.push({ key: `section:${a.section.slug}`, bucket: month });
  for (const t of a.tags) memberships.push({ key: `tag:${t.slug}`, bucket: month });
  if (a.featured) memberships.push({ key: 'featured', bucket: '-' });
  memberships.push({ key: 'sitemap:article', bucket: String(sitemapShardOf(a.id)) });
  const listing = JSON.stringify([a.title, a.summary, a.publishedAt, a.section?.name ?? null, a.author]);
  return { topic: 'article', id: a.id, slug: a.slug, visible, listing, memberships, sortAt };
}

export function eventState(e: EventRow): StoredState {
  const visible = e.status === 'published';
  const memberships: Membership[] = [
    { key: 'events', bucket: monthOf(e.startsAt) },
    { key: 'sitemap:event', bucket: String(sitemapShardOf(e.id)) },
  ];
  const listing = JSON.stringify([e.title, e.summary, e.startsAt, e.endsAt, e.location]);
  return { topic: 'event', id: e.id, slug: e.slug, visible, listing, memberships, sortAt: e.startsAt };
}

/** index_entries rows for a visible item (sitemap shards sort by id). */
export function entriesOf(state: StoredState): { index_key: string; bucket: string; sort_at: number; topic: string; item_id: number }[] {
  if (!state.visible) return [];
  return state.memberships.map((m) => ({
    index_key: m.key,
    bucket: m.bucket,
    sort_at: m.key.startsWith('sitemap:') ? state.id : state.sortAt,
    topic: state.topic,
    item_id: state.id,
  }));
}
