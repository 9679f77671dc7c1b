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
  if (SHORT_TTL_KINDS.has(page.kind)) headers['cache-control'] = `public, max-age=${indexMaxAge}`;
  // Named by their content hash: a changed file gets a new path.
  else if (page.path.startsWith(ASSETS_PREFIX)) headers['cache-control'] = 'public, max-age=31536000, immutable';
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
