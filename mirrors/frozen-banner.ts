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

// Styled by its own <style> element: the mirror adds it to any page and cannot rely on the site's
// stylesheet, and the Content-Security-Policy allows exactly this element by its hash
// (security-headers.ts), where style attributes would need 'unsafe-inline'. Sizes are in rem so a
// reader's font setting applies; the side padding lines the text up with the site's 46rem column
// (producer/templates/site.css, `.wrap`) and falls back to 1rem on narrow screens. Dark brown on pale
// yellow is about 12:1, above WCAG 1.4.3's 4.5:1. `nowrap`: a line break inside "2026-12-07" reads
// as two dates.
export const BANNER_CSS =
  '.hs-frozen{margin:0;padding:.5rem max(1rem,calc((100% - 44rem)/2));background:#fff4cc;color:#3d3000;' +
  'font:.9375rem/1.4 system-ui,sans-serif;border-bottom:1px solid #d8b94a}.hs-frozen time{white-space:nowrap}';

/**
 * `since` is when the newest heartbeat stopped vouching for the copy: it was
 * last confirmed current then, not last heard from (that was up to
 * FEED_HEARTBEAT_VALID_MS earlier), so the wording says "confirmed".
 */
export function bannerHtml(since: number): string {
  return (
    '<p class="hs-frozen" role="status">' +
    'This copy of the site may be out of date: the newsroom has not confirmed it since ' +
    `<time datetime="${machineTime(since)}">${readableTime(since)}</time>.</p>`
  );
}

/** The banner's <style> element, which the Content-Security-Policy names by its hash. */
export const BANNER_STYLE_ELEMENT = `<style>${BANNER_CSS}</style>`;

/**
 * Inserts the banner right after `<body …>`, and its style at the end of the
 * head (in the body when there is no head); a page without a body tag is
 * left alone.
 */
export function withBanner(html: Buffer, since: number): Buffer {
  let text = html.toString('utf8');
  const body = /<body\b[^>]*>/i.exec(text);
  if (!body) return html;
  const at = body.index + body[0].length;
  text = text.slice(0, at) + bannerHtml(since) + text.slice(at);
  const head = text.slice(0, body.index).search(/<\/head>/i);
  const styleAt = head >= 0 ? head : at;
  return Buffer.from(text.slice(0, styleAt) + BANNER_STYLE_ELEMENT + text.slice(styleAt), 'utf8');
}
