// Submitted HTML is cleaned on save with an allow-list (docs/design.md, "Trust model"): no
// scripts, event handlers, javascript: URLs, iframes, SVG or inline styles.
// Media survive with safe attributes only: images with pixel sizes, audio
// and video players with controls, sources with an audio/video type.
import sanitizeHtml from 'sanitize-html';

const options: sanitizeHtml.IOptions = {
  allowedTags: [
    'p',
    'br',
    'hr',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'blockquote',
    'pre',
    'code',
    'em',
    'strong',
    'b',
    'i',
    'u',
    's',
    'sub',
    'sup',
    'small',
    'mark',
    'q',
    'cite',
    'abbr',
    'ul',
    'ol',
    'li',
    'dl',
    'dt',
    'dd',
    'a',
    'img',
    'figure',
    'figcaption',
    'audio',
    'video',
    'source',
    'table',
    'thead',
    'tbody',
    'tfoot',
    'tr',
    'th',
    'td',
    'caption',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height', 'loading'],
    audio: ['src', 'controls', 'preload', 'loop'],
    video: ['src', 'controls', 'preload', 'width', 'height', 'poster', 'loop', 'muted', 'playsinline'],
    source: ['src', 'type'],
    abbr: ['title'],
    th: ['scope', 'colspan', 'rowspan'],
    td: ['colspan', 'rowspan'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: {
    img: ['http', 'https'],
    audio: ['http', 'https'],
    video: ['http', 'https'],
    source: ['http', 'https'],
  },
  // A poster is a URL the browser fetches like src: the same scheme rules.
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite', 'poster'],
  selfClosing: ['img', 'br', 'hr', 'source'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'noopener nofollow' }),
    img: media,
    // Players always get controls: without script a reader has no other way to play (and autoplay is not allowed).
    audio: (tagName, attribs) => media(tagName, { ...attribs, controls: '' }),
    video: (tagName, attribs) => media(tagName, { ...attribs, controls: '' }),
    source: media,
  },
};

const VALUES: Record<string, RegExp> = {
  width: /^\d{1,5}$/,
  height: /^\d{1,5}$/,
  type: /^(audio|video)\/[a-z0-9.+-]{1,64}$/i,
  loading: /^(lazy|eager)$/,
  preload: /^(none|metadata|auto)$/,
};

/** Width and height are pixel counts, a source's type an audio or video format; other values drop the attribute. */
function media(tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag {
  const kept = { ...attribs };
  for (const [name, pattern] of Object.entries(VALUES))
    if (kept[name] !== undefined && !pattern.test(kept[name].trim())) delete kept[name];
  return { tagName, attribs: kept };
}

export function sanitizeBody(html: string): string {
  return sanitizeHtml(html, options);
}
