// The security headers of every public page a mirror serves (docs/mirrors.md,
// "Security headers"): set by the mirror, so they hold whatever the
// templates become and reach readers through any cache tier. Pure.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { BANNER_CSS } from './frozen-banner';

/** CSP 3 §8.3: a hash source for an inline <style> element's exact text. */
function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The pages load only the site's own files: one stylesheet, images, audio
 * and video under /media/, and on live articles one script from /assets/
 * (producer/templates/live.js), never an inline one; `connect-src 'self'`
 * lets it poll the newest entries from the same mirror (and a search
 * script read a search index from it).
 * The only inline style is the frozen-copy banner the mirror adds
 * (frozen-banner.ts), allowed by its hash. `frame-ancestors` (clickjacking)
 * comes from MIRROR_FRAME_ANCESTORS, 'none' by default.
 */
export function contentSecurityPolicy(frameAncestors: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' ${hashSource(BANNER_CSS)}`,
    "img-src 'self'",
    "media-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/**
 * Referrer-Policy strict-origin-when-cross-origin (the browsers' default,
 * made explicit): a link followed to another site tells it only which site
 * the reader came from, never which article, and nothing over plain HTTP;
 * the site's own pages still see the full path. `no-referrer` would hide
 * even the site's name from the places it links to, which costs the
 * newsroom its attribution and gains the reader little.
 */
export function securityHeaders(frameAncestors: string): http.OutgoingHttpHeaders {
  return {
    'content-security-policy': contentSecurityPolicy(frameAncestors),
    'referrer-policy': 'strict-origin-when-cross-origin',
    'x-content-type-options': 'nosniff',
  };
}
