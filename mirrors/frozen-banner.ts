// What readers see of a frozen copy (docs/trust.md, "Signed freshness"):
// while the mirror's latest heartbeat is past its valid-until, every page
// carries a `Hyperstatic-Freshness` header, and HTML pages a quiet line at
// the top of the body saying since when the copy has not been confirmed current. The
// copy keeps being served: old news is better than none. Pure.

/** The header value: `frozen; since="<HTTP date>"`. */
export function freshnessHeader(since: number): string {
  return `frozen; since="${new Date(since).toUTCString()}"`;
}

function readableTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** To the second, as the header's HTTP date. */
function machineTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

// Styled inline: the mirror adds it to any page and cannot rely on the site's stylesheet. Sizes are in
// rem so a reader's font setting applies; the side padding lines the text up with the site's 46rem
// column (producer/templates/site.css, `.wrap`) and falls back to 1rem on narrow screens. Dark brown
// on pale yellow is about 12:1, above WCAG 1.4.3's 4.5:1.
const BANNER_STYLE =
  'margin:0;padding:.5rem max(1rem,calc((100% - 44rem)/2));background:#fff4cc;color:#3d3000;' +
  'font:.9375rem/1.4 system-ui,sans-serif;border-bottom:1px solid #d8b94a';

/**
 * `since` is when the newest heartbeat stopped vouching for the copy: it was
 * last confirmed current then, not last heard from (that was up to
 * FEED_HEARTBEAT_VALID_MS earlier), so the wording says "confirmed".
 */
export function bannerHtml(since: number): string {
  return (
    `<p class="hs-frozen" role="status" style="${BANNER_STYLE}">` +
    'This copy of the site may be out of date: the newsroom has not confirmed it since ' +
    // nowrap: a line break inside "2026-12-07" reads as two dates.
    `<time datetime="${machineTime(since)}" style="white-space:nowrap">${readableTime(since)}</time>.</p>`
  );
}

/** Inserts the banner right after `<body …>`; a page without a body tag is left alone. */
export function withBanner(html: Buffer, since: number): Buffer {
  const text = html.toString('utf8');
  const body = /<body\b[^>]*>/i.exec(text);
  if (!body) return html;
  const at = body.index + body[0].length;
  return Buffer.from(text.slice(0, at) + bannerHtml(since) + text.slice(at), 'utf8');
}
