// The mirror's header policy for a published page: validators, its kind for
// the cache tier, its purge tags for a CDN, and how long a cache may keep
// it. Pure.
import type http from 'node:http';
import type { PageKind } from '../common/feed-format';
import { pageTags, tagHeaders } from '../common/page-tags';
import { ASSETS_PREFIX } from '../common/site-paths';
import type { PageRecord } from './index-store';

/**
 * Kinds whose freshness is a short fixed TTL (docs/cache-proxy.md,
 * "Freshness policy"); others get none so the cache tier's heuristic applies.
 */
const SHORT_TTL_KINDS: ReadonlySet<PageKind> = new Set(['index', 'feed']);

/**
 * How stale a cache may serve a page (RFC 5861): ten minutes while it
 * refreshes, and three days while every mirror fails, so a seized origin or
 * a lost mirror does not darken the site (docs/cache-proxy.md, "Stale
 * serving"). Declared here because a correct cache serves stale only where
 * the origin allows it (RFC 9111 §4.2.4).
 */
export const MIRROR_GRACE = 'stale-while-revalidate=600, stale-if-error=259200';

/** Headers of a page's response; `indexMaxAge` (seconds) is the TTL of index and feed pages. */
export function pageHeaders(
  page: PageRecord,
  etag: string,
  lastModified: string,
  indexMaxAge: number,
): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {
    'content-type': page.contentType,
    etag,
    'last-modified': lastModified,
    'hyperstatic-kind': page.kind,
    'x-content-type-options': 'nosniff',
    // Purge by tag at a CDN in front (docs/mirrors.md, "Purge tags").
    ...tagHeaders(pageTags(page)),
  };
  if (SHORT_TTL_KINDS.has(page.kind)) headers['cache-control'] = `public, max-age=${indexMaxAge}, ${MIRROR_GRACE}`;
  // Named by their content hash: a changed file gets a new path.
  else if (page.path.startsWith(ASSETS_PREFIX))
    headers['cache-control'] = `public, max-age=31536000, immutable, ${MIRROR_GRACE}`;
  // No max-age: the cache tier's age-proportional heuristic decides freshness (RFC 9111 §4.2.2).
  else headers['cache-control'] = MIRROR_GRACE;
  return headers;
}

/** A blob is content-addressed and immutable: cacheable for ever, and resumable with Range. */
export function blobHeaders(etag: string): http.OutgoingHttpHeaders {
  return {
    'content-type': 'application/octet-stream',
    etag,
    'cache-control': 'public, max-age=31536000, immutable',
    'accept-ranges': 'bytes',
  };
}
