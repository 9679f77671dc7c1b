// A page that has moved (an item's former slug, app/content/slug-redirects.ts).
// The producer journals it as an ordinary `put` page: a small HTML page with
// a meta refresh, rel=canonical and a visible link to the new address. Its
// content type carries the target as a media type parameter
// (`text/html; charset=utf-8; hyperstatic-location="/news/new"`, RFC 9110
// §8.3.1), so the target is covered by the batch signature like every other
// entry field, the wire format does not change, and a mirror that predates
// redirects still serves the page (200, and the browser follows the refresh)
// while a current one answers 301 with Location (mirrors/page-route.ts).
import { isSafePublicPath } from './feed-format';

const LOCATION_PARAM = /;\s*hyperstatic-location="([^"\\]*)"/;

/** The content type of a redirect page to `target` (a safe public path). */
export function redirectContentType(target: string): string {
  if (!isSafePublicPath(target)) throw new Error(`redirect target ${JSON.stringify(target)} is not a public path`);
  return `text/html; charset=utf-8; hyperstatic-location="${target}"`;
}

/** Where a page with this content type redirects, or undefined; only ever a path of this site (never `//host`). */
export function redirectTarget(contentType: string): string | undefined {
  const found = LOCATION_PARAM.exec(contentType);
  return found && isSafePublicPath(found[1]) ? found[1] : undefined;
}

/** The content type without the redirect parameter: what a 301's body is sent as. */
export function withoutRedirect(contentType: string): string {
  return contentType.replace(LOCATION_PARAM, '');
}
