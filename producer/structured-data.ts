// Metadata for sharing and search, built from a page's view model: Open
// Graph and Twitter card tags (https://ogp.me, summary cards) and schema.org
// JSON-LD (NewsArticle, Event) with the headline, dates, authors, image and
// publisher. Pure: the templates print what these return. Nothing here
// depends on when the item was last saved, only on what the page shows
// (dateModified is the time of the latest public correction or update note).
import type { LeadImageRow } from './item-rows';
import type { articleView, eventView, SiteInfo } from './renderer';

type ArticleView = ReturnType<typeof articleView>;
type EventView = ReturnType<typeof eventView>;

/** What layout.njk prints as og:* and twitter:* tags. */
export interface SocialMeta {
  type: 'article' | 'website';
  title: string;
  description: string;
  /** Absolute. */
  url: string;
  image?: { url: string; alt: string; width?: number; height?: number };
  publishedAt?: string;
  /** The latest public note's time (article:modified_time). */
  modifiedAt?: string;
  section?: string;
  tags?: string[];
}

const iso = (ms: number | null | undefined) => (ms == null ? undefined : new Date(ms).toISOString());

function imageOf(site: SiteInfo, img: LeadImageRow | null): SocialMeta['image'] {
  if (!img) return undefined;
  return {
    url: site.publicUrl + img.src,
    alt: img.alt,
    width: img.width ?? undefined,
    height: img.height ?? undefined,
  };
}

function publisherOf(site: SiteInfo, icon: string) {
  return {
    '@type': 'NewsMediaOrganization',
    name: site.name,
    url: `${site.publicUrl}/`,
    logo: { '@type': 'ImageObject', url: site.publicUrl + icon },
  };
}

export function articleMeta(site: SiteInfo, a: ArticleView): SocialMeta {
  return {
    type: 'article',
    title: a.title,
    description: a.summary,
    url: site.publicUrl + a.url,
    image: imageOf(site, a.leadImage),
    publishedAt: iso(a.publishedAt),
    modifiedAt: iso(a.modifiedAt),
    section: a.section?.name,
    tags: a.tags.map((t) => t.name),
  };
}

export function eventMeta(site: SiteInfo, e: EventView): SocialMeta {
  return {
    type: 'website',
    title: e.title,
    description: e.summary,
    url: site.publicUrl + e.url,
    image: imageOf(site, e.leadImage),
  };
}

/** A listing or the home page: the basic tags, no image. */
export function listingMeta(site: SiteInfo, title: string, description: string, path: string): SocialMeta {
  return { type: 'website', title, description, url: site.publicUrl + path };
}

/** schema.org NewsArticle (https://schema.org/NewsArticle); each author a Person with their author page, or by the publisher when none is named. */
export function articleJsonLd(site: SiteInfo, icon: string, a: ArticleView): Record<string, unknown> {
  const publisher = publisherOf(site, icon);
  const url = site.publicUrl + a.url;
  return {
    '@context': 'https://schema.org',
    '@type': 'NewsArticle',
    mainEntityOfPage: { '@type': 'WebPage', '@id': url },
    url,
    headline: a.title.length > 110 ? `${a.title.slice(0, 109)}…` : a.title,
    description: a.summary || undefined,
    datePublished: iso(a.publishedAt),
    // dateModified is the latest public correction or update note, never the
    // last save: a save that changes nothing a reader sees (featuring,
    // re-saving) must leave the page's bytes alone (docs/design.md, "Invariants").
    dateModified: iso(a.modifiedAt),
    author: a.authors.length
      ? a.authors.map((p) => ({ '@type': 'Person', name: p.name, url: site.publicUrl + p.url }))
      : [{ '@type': 'Organization', name: site.name }],
    image: a.leadImage ? [site.publicUrl + a.leadImage.src] : undefined,
    articleSection: a.section?.name,
    keywords: a.tags.length ? a.tags.map((t) => t.name) : undefined,
    publisher,
  };
}

/**
 * schema.org LiveBlogPosting (https://schema.org/LiveBlogPosting): the
 * article with its newest entries as liveBlogUpdate. dateModified is the
 * last entry change, which only an entry save moves.
 */
export function liveBlogJsonLd(
  site: SiteInfo,
  icon: string,
  a: ArticleView,
  entries: { id: number; body: string; postedAt: number; updatedAt: number }[],
  liveUpdatedAt: number | null,
): Record<string, unknown> {
  const url = site.publicUrl + a.url;
  return {
    ...articleJsonLd(site, icon, a),
    '@type': 'LiveBlogPosting',
    coverageStartTime: iso(a.publishedAt),
    dateModified: iso(liveUpdatedAt ?? a.publishedAt),
    liveBlogUpdate: entries.map((e) => {
      const text = plainText(e.body);
      return {
        '@type': 'BlogPosting',
        url: `${url}#entry-${e.id}`,
        headline: text.length > 110 ? `${text.slice(0, 109)}…` : text,
        articleBody: text,
        datePublished: iso(e.postedAt),
        dateModified: iso(e.updatedAt),
      };
    }),
  };
}

/** A sanitized body's text (app/content/sanitize.ts allows no script or style whose text could leak here). */
function plainText(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_m, name: string) => entities[name])
    .replace(/\s+/g, ' ')
    .trim();
}

/** schema.org Event (https://schema.org/Event), organized by the site. */
export function eventJsonLd(site: SiteInfo, icon: string, e: EventView): Record<string, unknown> {
  return {
    '@context': 'https://schema.org',
    '@type': 'Event',
    url: site.publicUrl + e.url,
    name: e.title,
    description: e.summary || undefined,
    startDate: iso(e.startsAt),
    endDate: iso(e.endsAt),
    eventAttendanceMode: 'https://schema.org/OfflineEventAttendanceMode',
    eventStatus: 'https://schema.org/EventScheduled',
    location: e.location ? { '@type': 'Place', name: e.location, address: e.location } : undefined,
    image: e.leadImage ? [site.publicUrl + e.leadImage.src] : undefined,
    organizer: { '@type': 'Organization', name: site.name, url: `${site.publicUrl}/` },
    publisher: publisherOf(site, icon),
  };
}
