// Paste from word processors. Word, LibreOffice and Google Docs put their
// own markup on the clipboard (Word's lists are paragraphs with an
// `mso-list` style and the bullet as text; Google Docs wraps everything in a
// <b> and marks bold with a style). This undoes those habits in the
// browser, then sends the HTML to the server, which cleans it with the same
// sanitizer a save uses (app/content/sanitize.ts, POST /editor/paste), so
// what lands in the editor is what a save would keep.

const WORD_LIST = /mso-list:\s*l\d+/i;
const WORD_BULLET = '[style*="mso-list:Ignore" i], [style*="mso-list: Ignore" i]';
const ORDERED_MARKER = /^\s*(\d{1,3}|[a-z]|[ivxlc]{1,5})[.)]/i;

/** Word's list paragraphs become <ul>/<ol> with <li>; consecutive ones share one list. */
function wordLists(doc: Document): void {
  const paragraphs = [...doc.body.querySelectorAll('p')].filter((p) => WORD_LIST.test(p.getAttribute('style') ?? ''));
  for (const p of paragraphs) {
    const marker = p.querySelector(WORD_BULLET);
    const tag = marker && ORDERED_MARKER.test(marker.textContent ?? '') ? 'OL' : 'UL';
    marker?.remove();
    const previous = p.previousElementSibling;
    const list =
      previous?.tagName === tag && previous.hasAttribute('data-word-list') ? previous : doc.createElement(tag);
    if (list !== previous) {
      list.setAttribute('data-word-list', '');
      p.before(list);
    }
    const item = doc.createElement('li');
    item.append(...p.childNodes);
    list.append(item);
    p.remove();
  }
}

/** Google Docs: the wrapping <b id="docs-internal-guid-…"> goes; styled spans become <strong>/<em>. */
function styledSpans(doc: Document): void {
  for (const wrapper of doc.body.querySelectorAll('b[id^="docs-internal-guid"]'))
    wrapper.replaceWith(...wrapper.childNodes);
  for (const span of doc.body.querySelectorAll<HTMLElement>('span[style]')) {
    const style = span.getAttribute('style') ?? '';
    let node: Element = span;
    if (/font-weight:\s*(bold|[6-9]00)/i.test(style)) node = wrap(doc, node, 'strong');
    if (/font-style:\s*italic/i.test(style)) wrap(doc, node, 'em');
  }
}

function wrap(doc: Document, node: Element, tag: string): Element {
  const outer = doc.createElement(tag);
  node.replaceWith(outer);
  outer.append(node);
  return outer;
}

/** Paragraphs holding only spaces (Word's <o:p>&nbsp;</o:p> between paragraphs). */
function emptyParagraphs(doc: Document): void {
  for (const p of doc.body.querySelectorAll('p'))
    if ((p.textContent ?? '').replace(/[\s\u00a0]/g, '') === '' && !p.querySelector('img')) p.remove();
}

/** The clipboard's HTML without word-processor markup (still to be sanitized by the server). */
export function wordProcessorCleanup(html: string): string {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  wordLists(doc);
  styledSpans(doc);
  emptyParagraphs(doc);
  for (const list of doc.body.querySelectorAll('[data-word-list]')) list.removeAttribute('data-word-list');
  return doc.body.innerHTML;
}

/** The pasted HTML as the server's sanitizer keeps it. */
export async function sanitizedPaste(html: string, endpoint: string, csrf: string): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ html: wordProcessorCleanup(html), _csrf: csrf }),
  });
  if (!res.ok) throw new Error(`paste cleaning answered ${res.status}`);
  return ((await res.json()) as { html: string }).html;
}
