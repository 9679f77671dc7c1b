// The body's media as editor nodes, written as the HTML the server's
// sanitizer keeps (app/content/sanitize.ts): an image is a <figure> with its
// alt text and an optional caption; an uploaded audio or video file is a
// player with controls. Both parse what the media library's snippets and
// older bodies hold, so loading a body and saving it again keeps its media.
import { Node } from '@tiptap/core';

const numberOrNull = (value: string | null) => (value && /^\d{1,5}$/.test(value) ? Number(value) : null);

function imageAttrs(img: HTMLImageElement, caption: string) {
  return {
    src: img.getAttribute('src'),
    alt: img.getAttribute('alt') ?? '',
    width: numberOrNull(img.getAttribute('width')),
    height: numberOrNull(img.getAttribute('height')),
    caption,
  };
}

const plain = { rendered: false };

export const Figure = Node.create({
  name: 'figure',
  group: 'block',
  atom: true,
  draggable: true,
  addAttributes() {
    return {
      src: { default: null, ...plain },
      alt: { default: '', ...plain },
      caption: { default: '', ...plain },
      width: { default: null, ...plain },
      height: { default: null, ...plain },
    };
  },
  parseHTML() {
    return [
      {
        tag: 'figure',
        getAttrs: (el) => {
          const img = (el as HTMLElement).querySelector('img');
          if (!img?.getAttribute('src')) return false;
          const caption = (el as HTMLElement).querySelector('figcaption')?.textContent?.trim() ?? '';
          return imageAttrs(img, caption);
        },
      },
      // A bare image (pasted, or an older body): a figure without a caption.
      { tag: 'img[src]', getAttrs: (el) => imageAttrs(el as HTMLImageElement, '') },
    ];
  },
  renderHTML({ node }) {
    const { src, alt, caption, width, height } = node.attrs as Record<string, string | number | null>;
    const img: Record<string, string> = { src: String(src), alt: String(alt ?? ''), loading: 'lazy' };
    if (width && height) Object.assign(img, { width: String(width), height: String(height) });
    return caption ? ['figure', ['img', img], ['figcaption', String(caption)]] : ['figure', ['img', img]];
  },
});

function playerAttrs(el: HTMLElement, kind: 'audio' | 'video') {
  const src = el.getAttribute('src') ?? el.querySelector('source[src]')?.getAttribute('src');
  return src ? { kind, src } : false;
}

export const MediaEmbed = Node.create({
  name: 'mediaEmbed',
  group: 'block',
  atom: true,
  draggable: true,
  addAttributes() {
    return { kind: { default: 'audio', ...plain }, src: { default: null, ...plain } };
  },
  parseHTML() {
    return [
      { tag: 'audio', getAttrs: (el) => playerAttrs(el as HTMLElement, 'audio') },
      { tag: 'video', getAttrs: (el) => playerAttrs(el as HTMLElement, 'video') },
    ];
  },
  renderHTML({ node }) {
    const kind = node.attrs.kind === 'video' ? 'video' : 'audio';
    return [kind, { controls: '', preload: 'none', src: String(node.attrs.src) }];
  },
});
