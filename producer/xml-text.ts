// What the XML writers (feeds, sitemaps) do with characters XML 1.0 cannot
// carry (§2.2 Char: C0 controls other than tab, line feed and carriage
// return; unpaired surrogates; U+FFFE and U+FFFF). Saves refuse them
// (app/content/item-input.ts), but rows written before that rule, or
// straight into the database, must not make a whole feed unparsable for
// every reader: the writers drop them.

// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\p{Cs}\ufffe\uffff]/gu;

/** `text` without the characters an XML 1.0 document may not contain. */
export function stripXmlForbidden(text: string): string {
  return text.replace(XML_FORBIDDEN, '');
}
