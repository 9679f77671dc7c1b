// Plain text as body HTML, for the public submission form (a reader types
// words, not markup): a blank line starts a new paragraph, a single line
// break stays a line break, and every character is text (escaped), so
// "<b>" arrives as the four characters a reader typed.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function plainTextToHtml(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n\s*/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== '')
    .map((paragraph) => `<p>${paragraph.replace(/[&<>"']/g, (c) => ESCAPES[c]).replace(/[ \t]*\n[ \t]*/g, '<br>')}</p>`)
    .join('');
}
