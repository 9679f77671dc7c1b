// Links inside stored bodies that name the site by its full address
// (an editor pasted https://news.example/news/x) are written root-relative,
// so the page works on any mirror, under any host name or onion address
// (docs/mirrors.md, "Any address"). Only attribute values of the sanitized
// HTML (app/content/sanitize.ts writes them double-quoted) are touched;
// links to other sites are left alone. Pure.

/** `html` with every href/src naming `publicUrl`'s host (http or https, or scheme-relative) made root-relative. */
export function relativeSiteLinks(html: string, publicUrl: string): string {
  const host = new URL(publicUrl).host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(\\s(?:href|src|poster)=")(?:https?:)?//${host}(?=[/?#"])`, 'gi');
  return html.replace(pattern, (_match, attribute: string, offset: number, text: string) => {
    const next = text[offset + _match.length];
    return next === '/' ? attribute : `${attribute}/`;
  });
}
