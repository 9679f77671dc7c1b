// Serves the published site: a request path is looked up in the index (never
// used as a file name) and answered with the blob the index names (or the
// compressed variant the request accepts, page-representation.ts), a 301 to
// where a missing path has moved (request-path.ts, movedTo) or to where an
// item's former slug now points (common/redirect-page.ts), a 410
// tombstone, a 304, a 406, or the site's 404 page. Every answer carries the
// security headers (security-headers.ts) and the journal position it
// reflects (Hyperstatic-Position, common/feed-format.ts).
import fs from 'node:fs';
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { acceptEncodingOf } from '../common/content-coding';
import { POSITION_HEADER } from '../common/feed-format';
import { sendNotFound, type FileSender } from './file-responses';
import { etagOf, httpDate, notModified } from '../common/http-conditional';
import { freshnessHeader, withBanner } from './frozen-banner';
import type { MirrorStore, PageRecord } from './mirror-store';
import { movedTo } from './request-path';
import { redirectTarget, withoutRedirect } from '../common/redirect-page';
import { NOT_FOUND_PATH } from '../common/site-paths';
import { MIRROR_GRACE, pageHeaders } from './page-headers';
import { selectRepresentation, variesByEncoding } from './page-representation';
import { securityHeaders } from './security-headers';

/** Seconds a cache may keep a bannered page: short, since the copy may recover any moment. */
const FROZEN_MAX_AGE = 10;
/**
 * A missing path's 404 is fresh for one second, with no grace. Our cache
 * proxy refills a path the feed evicted only from a mirror whose
 * Hyperstatic-Position has reached the eviction (cache-proxy/catch-up.ts);
 * a cache that cannot (no feed, or one that ignores the field) may still
 * store the 404 of a page that just went live from a mirror that is behind,
 * and this bounds that to a second instead of its heuristic lifetime. One
 * fill a second per path still absorbs a flood of misses.
 */
export const MISSING_MAX_AGE = 1;
/** Seconds a redirect from a former slug may be kept (see serveRedirect). */
export const REDIRECT_MAX_AGE = 3600;

export type PageRoute = (req: IncomingMessage, res: ServerResponse, path: string) => void;

export function createPageRoute(options: {
  store: MirrorStore;
  files: FileSender;
  /** Cache-Control max-age for index and feed pages, in seconds. */
  indexMaxAge: number;
  /** False while the mirror bootstraps: pages answer 503 so no cache keeps a half-loaded copy. */
  serving?: () => boolean;
  /** Set while the copy is frozen (its latest heartbeat expired): since when. */
  frozenSince?: () => number | undefined;
  /** MIRROR_ONION_LOCATION: HTML pages name the same path on this onion service (Tor Browser offers to go there). */
  onionLocation?: string;
  /** Content-Security-Policy frame-ancestors sources (MIRROR_FRAME_ANCESTORS). */
  frameAncestors?: string;
}): PageRoute {
  const { store, files } = options;
  const security = securityHeaders(options.frameAncestors ?? "'none'");

  /** The headers every page answer shares: its own, the security headers, and Vary for text. */
  function headersOf(page: PageRecord, etag: string, lastModified: string): http.OutgoingHttpHeaders {
    const headers = { ...pageHeaders(page, etag, lastModified, options.indexMaxAge), ...security };
    // RFC 9110 §12.5.5: every answer for a text page depends on Accept-Encoding, the identity one too.
    if (variesByEncoding(page)) headers.vary = 'Accept-Encoding';
    return headers;
  }

  /**
   * An HTML page of a frozen copy, with the banner: a variant of its own
   * (ETag), cached briefly so proxies drop it soon after heartbeats return.
   * Sent uncompressed: the stored variants are of the page without it.
   */
  function serveFrozenHtml(req: IncomingMessage, res: ServerResponse, page: PageRecord, since: number): void {
    const etag = `"${page.sha256}-frozen-${since}"`;
    const lastModified = httpDate(page.lastModified);
    const headers = headersOf(page, etag, lastModified);
    headers['hyperstatic-freshness'] = freshnessHeader(since);
    headers['cache-control'] = `public, max-age=${FROZEN_MAX_AGE}, ${MIRROR_GRACE}`;
    if (page.op !== 'gone' && notModified(req.headers, { etag, 'last-modified': lastModified })) {
      delete headers['content-type'];
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const body = withBanner(fs.readFileSync(store.blobPath(page.sha256)), since);
    headers['content-length'] = body.length;
    res.writeHead(page.op === 'gone' ? 410 : 200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return function servePage(req, res, path) {
    if (options.serving && !options.serving()) {
      // A bootstrap changes pages without batches, so the cache tier would never be told to evict
      // what it cached now: refuse (uncacheable) until the copy is whole.
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'retry-after': '5',
      });
      res.end('This mirror is loading its copy of the site; try again shortly.\n');
      return;
    }
    // Read in the same tick as the lookup, so the answer reflects at least this position (a batch is
    // applied in one transaction): a cache that evicted the path at a later one asks another mirror.
    res.setHeader(POSITION_HEADER, String(store.servedPosition()));
    const page = store.lookup(path);
    if (!page) return serveMissing(req, res, path, store, files, security);
    const target = page.op === 'put' ? redirectTarget(page.contentType) : undefined;
    if (target !== undefined) return serveRedirect(req, res, page, target, store, files, security);
    const html = page.contentType.startsWith('text/html');
    if (html && options.onionLocation) res.setHeader('onion-location', `${options.onionLocation}${encodeURI(path)}`);
    const frozen = options.frozenSince?.();
    if (frozen !== undefined && html) return serveFrozenHtml(req, res, page, frozen);
    const lastModified = httpDate(page.lastModified);
    const selected = selectRepresentation(page, acceptEncodingOf(req.headers));
    if (!selected) return sendNotAcceptable(res, security);
    // Each representation's own hash is its strong ETag: a 304, If-Range and a cache all tell gzip from br.
    const etag = etagOf(selected.sha256);
    const headers = headersOf(page, etag, lastModified);
    if (selected.coding) headers['content-encoding'] = selected.coding;
    const file = store.blobPath(selected.sha256);
    if (page.op === 'gone') {
      files.sendFile(req, res, file, 410, headers);
      return;
    }
    if (notModified(req.headers, { etag, 'last-modified': lastModified })) {
      delete headers['content-type'];
      delete headers['content-encoding'];
      res.writeHead(304, headers);
      res.end();
      return;
    }
    // RFC 9110 §14.1.2: a range is of the selected representation, so of the compressed bytes when
    // Content-Encoding is set; Content-Length and Content-Range count those bytes.
    headers['accept-ranges'] = 'bytes';
    files.sendRanged(req, res, file, headers, etag, lastModified);
  };
}

/**
 * A page that has moved (an item's former slug, common/redirect-page.ts):
 * 301 to the target the signed content type names, with the page itself as
 * the body (its link for a client that does not follow). Cached for an hour,
 * not for ever: an item may take its old slug back, and a browser holding an
 * older 301 would then loop.
 */
function serveRedirect(
  req: IncomingMessage,
  res: ServerResponse,
  page: PageRecord,
  target: string,
  store: MirrorStore,
  files: FileSender,
  security: http.OutgoingHttpHeaders,
): void {
  const q = req.url?.indexOf('?') ?? -1;
  files.sendFile(req, res, store.blobPath(page.sha256), 301, {
    ...security,
    location: encodeURI(target) + (q === -1 ? '' : req.url!.slice(q)),
    'content-type': withoutRedirect(page.contentType),
    'cache-control': `public, max-age=${REDIRECT_MAX_AGE}, ${MIRROR_GRACE}`,
    'last-modified': httpDate(page.lastModified),
    'hyperstatic-kind': page.kind,
  });
}

/** A path the index lacks: a 301 to where it moved (request-path.ts, movedTo), or the 404 page. */
function serveMissing(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  store: MirrorStore,
  files: FileSender,
  security: http.OutgoingHttpHeaders,
): void {
  const moved = movedTo(path, (p) => store.lookup(p) !== undefined);
  if (moved) {
    const q = req.url?.indexOf('?') ?? -1;
    res.writeHead(301, {
      location: encodeURI(moved) + (q === -1 ? '' : req.url!.slice(q)),
      ...security,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': 6,
    });
    res.end(req.method === 'HEAD' ? undefined : 'Moved\n');
    return;
  }
  // The site's own 404 page (/404.html, written by the producer) with status 404; a plain one before the copy has it.
  // must-revalidate: no grace rule of a proxy's operator may serve it stale either.
  const headers = { ...security, 'cache-control': `public, max-age=${MISSING_MAX_AGE}, must-revalidate` };
  const styled = store.lookup(NOT_FOUND_PATH);
  if (!styled || styled.op !== 'put') return sendNotFound(res, headers);
  files.sendFile(req, res, store.blobPath(styled.sha256), 404, { ...headers, 'content-type': styled.contentType });
}

/** RFC 9110 §12.5.3: identity refused and no stored coding accepted. */
function sendNotAcceptable(res: ServerResponse, security: http.OutgoingHttpHeaders): void {
  res.writeHead(406, { ...security, vary: 'Accept-Encoding', 'content-type': 'text/plain; charset=utf-8' });
  res.end('None of the content codings this page is stored in is acceptable (identity, gzip, br).\n');
}
