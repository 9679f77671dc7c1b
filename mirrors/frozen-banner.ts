// What readers see of a frozen copy (docs/trust.md, "Signed freshness"):
// while the mirror's latest heartbeat is past its valid-until, every page
// carries a `Hyperstatic-Freshness` header, and HTML pages a quiet line at
// the top of the body saying since when the copy has not been updated. The
// copy keeps being served: old news is better than none. Pure.

/** The header value: `frozen; since="<HTTP date>"`. */
export function freshnessHeader(since: number): string {
  return `frozen; since="${new Date(since).toUTCString()}"`;
}

function readableTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function bannerHtml(since: number): string {
  return (
    '<p class="hs-frozen" role="status" style="margin:0;padding:.5em 1em;background:#fff4cc;color:#3d3000;' +
    'font:15px/1.4 system-ui,sans-serif;border-bottom:1px solid #d8b94a">' +
    `This copy of the site has not heard from the newsroom since ${readableTime(since)}. ` +
    'Newer stories may exist.</p>'
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
