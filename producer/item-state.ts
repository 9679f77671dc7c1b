// What the dependency model knows about an item: derived from its database
// row, stored after each render (render_state) as the next save's "before".
import { monthOf, NEWS_WINDOW_MS, sitemapShardOf } from '../common/site-paths';
import type { ItemState, Membership } from './affected-pages';
import type { ArticleCard, ArticleRow, AuthorRow, EventCard, EventRow } from './item-rows';
import { liveState } from './live-pages';

export type { ArticleCard, EventCard };

export interface StoredState extends ItemState {
  /** Listing order (published_at for articles, starts_at for events). */
  sortAt: number;
  /** What listings show of the item: index pages read it from here, not from the content tables. */
  card: ArticleCard | EventCard;
}

/** `now`: the render's clock; an article published within NEWS_WINDOW_MS of it is in the news sitemap. */
export function articleState(a: ArticleRow, now: number): StoredState {
  const visible = a.status === 'published' && a.publishedAt !== null;
  const sortAt = a.publishedAt ?? a.updatedAt;
  const month = monthOf(sortAt);
  const memberships: Membership[] = [{ key: 'all', bucket: month }];
  if (a.section) memberships.push({ key: `section:${a.section.slug}`, bucket: month });
  for (const t of a.tags) memberships.push({ key: `tag:${t.slug}`, bucket: month });
  if (a.featured) memberships.push({ key: 'featured', bucket: '-' });
  // Leaves with time, not with a save: the scheduler owes the render that drops it (app/schedule/news-age-out.ts).
  if (a.publishedAt !== null && a.publishedAt > now - NEWS_WINDOW_MS) memberships.push({ key: 'news', bucket: '-' });
  memberships.push({ key: 'sitemap:article', bucket: String(sitemapShardOf(a.id)) });
  memberships.push(...authorMemberships(a.authors, month));
  // The lead image is on the card: changing it re-renders every listing that shows the item.
  const card: ArticleCard = {
    id: a.id,
    slug: a.slug,
    title: a.title,
    summary: a.summary,
    publishedAt: a.publishedAt,
    section: a.section,
    authors: a.authors.map((p) => ({ slug: p.slug, name: p.name })),
    leadImage: a.leadImage,
    live: a.live,
    liveUpdatedAt: a.liveUpdatedAt,
  };
  // A new public note re-renders the listings, so feeds show the update (producer/templates/atom.njk).
  if (a.modifiedAt !== null) card.modifiedAt = a.modifiedAt;
  return {
    topic: 'article',
    id: a.id,
    slug: a.slug,
    visible,
    listing: listingOf(card),
    memberships,
    sortAt,
    card,
    authors: a.authors,
    ...(a.live ? { updatedAt: a.liveUpdatedAt, live: liveState(a.entries) } : {}),
    ...formerOf(a.formerSlugs),
  };
}

export function eventState(e: EventRow): StoredState {
  const visible = e.status === 'published';
  const memberships: Membership[] = [
    { key: 'events', bucket: monthOf(e.startsAt) },
    { key: 'sitemap:event', bucket: String(sitemapShardOf(e.id)) },
    ...authorMemberships(e.authors, monthOf(e.startsAt)),
  ];
  const card: EventCard = {
    id: e.id,
    slug: e.slug,
    title: e.title,
    summary: e.summary,
    startsAt: e.startsAt,
    endsAt: e.endsAt,
    location: e.location,
    leadImage: e.leadImage,
  };
  return {
    topic: 'event',
    id: e.id,
    slug: e.slug,
    visible,
    listing: listingOf(card),
    memberships,
    sortAt: e.startsAt,
    card,
    authors: e.authors,
    ...formerOf(e.formerSlugs),
  };
}

/** Each author's page lists the item in its month (an event by its start, like the calendar). */
function authorMemberships(authors: AuthorRow[], month: string): Membership[] {
  return authors.map((p) => ({ key: `author:${p.slug}`, bucket: month }));
}

/** Only an item that has former slugs records them: every other state stays as it was stored before slugs could change. */
function formerOf(slugs: string[] | undefined): { formerSlugs?: string[] } {
  return slugs && slugs.length > 0 ? { formerSlugs: slugs } : {};
}

/** index_entries rows for a visible item (sitemap shards sort by id). */
export function entriesOf(
  state: StoredState,
): { index_key: string; bucket: string; sort_at: number; topic: string; item_id: number }[] {
  if (!state.visible) return [];
  return state.memberships.map((m) => ({
    index_key: m.key,
    bucket: m.bucket,
    sort_at: m.key.startsWith('sitemap:') ? state.id : state.sortAt,
    topic: state.topic,
    item_id: state.id,
  }));
}

/** render_state.state: the listing fingerprint is the card itself, so it is not stored twice. */
export function serializeState(state: StoredState): string {
  const { listing: _listing, ...rest } = state;
  return JSON.stringify(rest);
}

export function parseState(json: string): StoredState {
  const rest = JSON.parse(json) as Omit<StoredState, 'listing'>;
  return { ...rest, listing: listingOf(rest.card) };
}

/**
 * What listing pages show of an item: its card, without the time of a live
 * article's last entry, which only its feeds show (ItemState.updatedAt), so a
 * new entry does not re-render every listing the article is on.
 */
function listingOf(card: ArticleCard | EventCard): string {
  if (!('liveUpdatedAt' in card)) return JSON.stringify(card);
  const { liveUpdatedAt: _updated, ...listed } = card;
  return JSON.stringify(listed);
}
