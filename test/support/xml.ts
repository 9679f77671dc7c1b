// A strict XML 1.0 reader for tests: saxes checks well-formedness (including
// the characters XML forbids, which lenient parsers let through) and this
// builds a small element tree to query.
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** The document's root element; throws the parser's first error (line:column: what) for a malformed document. */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser();
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const open: XmlElement[] = [root];
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = {
      name: tag.name,
      attributes: tag.attributes as Record<string, string>,
      children: [],
      text: '',
    };
    open[open.length - 1].children.push(element);
    open.push(element);
  });
  parser.on('text', (t) => {
    open[open.length - 1].text += t;
  });
  parser.on('cdata', (t) => {
    open[open.length - 1].text += t;
  });
  parser.on('closetag', () => {
    open.pop();
  });
  parser.write(text).close();
  if (failure) throw failure;
  if (root.children.length !== 1) throw new Error('no root element');
  return root.children[0];
}

/** The direct children of `element` named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}
