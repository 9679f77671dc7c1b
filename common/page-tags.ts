// Purge tags of a published page, for a CDN in front of the mirrors or
// proxies: sent as `Surrogate-Key` (space-separated: Fastly, Varnish xkey,
// Akamai) and `Cache-Tag` (comma-separated: Cloudflare, Akamai) by the
// mirrors (mirrors/page-headers.ts). A pure function of a journal entry's
// path and kind, so whoever reads the change feed computes the same tags
// for every entry of a batch without a new feed field (docs/mirrors.md,
// "Purge tags"). The vocabulary follows the producer's dependency model
// (producer/affected-pages.ts): `item:article:SLUG`, `section:SLUG`,
// `tag:SLUG`, plus the page kind.
import type { PageKind } from './feed-format';

/** Longest tag a CDN accepts (Fastly: 1024 bytes per key). */
const MAX_TAG_BYTES = 1024;

/** Path patterns and the tags they give, first match wins. */
const RULES: readonly { pattern: RegExp; tags: (m: RegExpExecArray) => string[] }[] = [
  { pattern: /^\/$/, tags: () => ['home'] },
  { pattern: /^\/news\/([^/]+)\/?$/, tags: (m) => [`item:article:${m[1]}`] },
  { pattern: /^\/event\/([^/]+)\/?$/, tags: (m) => [`item:event:${m[1]}`] },
  { pattern: /^\/articles(?:\/|$)/, tags: () => ['listing:all'] },
  { pattern: /^\/events(?:\/|$)/, tags: () => ['listing:events'] },
  { pattern: /^\/(section|tag)s\/([^/]+)(?:\/|$)/, tags: (m) => [`${m[1]}:${m[2]}`] },
  { pattern: /^\/feeds\/site\./, tags: () => ['listing:all'] },
  { pattern: /^\/feeds\/(section|tag)s\/([^/]+?)\.(?:rss|atom)\.xml$/, tags: (m) => [`${m[1]}:${m[2]}`] },
  { pattern: /^\/sitemaps?(?:\/|\.xml$)/, tags: () => ['sitemap'] },
  // An upload and its renditions share the original's hash (app/media/media-store.ts): one tag purges them all.
  { pattern: /^\/media\/([0-9a-f]{64})[-.]/, tags: (m) => [`media:${m[1]}`] },
  { pattern: /^\/assets\//, tags: () => ['assets'] },
];

/** Tags of a page: `site` (purges everything), `kind:KIND`, and what its path says it is. */
export function pageTags(page: { readonly path: string; readonly kind: PageKind }): string[] {
  const tags = ['site', `kind:${page.kind}`];
  for (const rule of RULES) {
    const match = rule.pattern.exec(page.path);
    if (!match) continue;
    tags.push(...rule.tags(match));
    break;
  }
  return tags.map(safeTag).filter((tag) => tag.length <= MAX_TAG_BYTES);
}

/**
 * A tag as a header may carry it: no space (Surrogate-Key's separator), no
 * comma (Cache-Tag's), nothing outside visible ASCII; anything else is
 * percent-encoded, so a slug in any script still names one tag.
 */
export function safeTag(tag: string): string {
  return tag.replace(/[^A-Za-z0-9._:~-]/gu, (c) => encodeURIComponent(c).replace(/[!'()*]/g, escapeAscii));
}

function escapeAscii(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

/** The two header fields that carry the tags. */
export function tagHeaders(tags: readonly string[]): { 'surrogate-key': string; 'cache-tag': string } {
  return { 'surrogate-key': tags.join(' '), 'cache-tag': tags.join(',') };
}
