// The rich-text body editor (Tiptap, on ProseMirror) over the form's body
// textarea. The textarea stays the form field: every change writes the
// editor's HTML into it, so the form posts exactly as it does without
// JavaScript, and the server sanitizes it on save as always. "HTML" shows
// the textarea itself; a body holding markup the editor cannot keep
// (tables, definition lists…) opens there, so loading and saving it never
// drops words.
import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import { Figure, MediaEmbed } from './media-nodes';
import { sanitizedPaste } from './paste';
import { buildToolbar, FULL_TOOLS, REDUCED_TOOLS } from './toolbar';

const UNKEPT = 'table, dl, abbr, sub, sup, mark, small, q, cite, iframe';

/** Event a script sends to the textarea after setting its value, so the editor shows the new text. */
export const SET_VALUE_EVENT = 'hs:set-value';

function unkeptMarkup(html: string): boolean {
  return html.trim() !== '' && new DOMParser().parseFromString(html, 'text/html').body.querySelector(UNKEPT) !== null;
}

function unkeptNote(): HTMLElement {
  return Object.assign(document.createElement('p'), {
    className: 'hint',
    textContent:
      'This body holds markup the rich editor cannot keep (a table, a definition list…), so it is shown as HTML.',
  });
}

function extensions() {
  return [
    StarterKit.configure({
      // h1 is the page's title; the sanitizer keeps h2–h6. "## " starts a heading (Markdown shortcuts are input rules).
      heading: { levels: [2, 3, 4] },
      link: {
        openOnClick: false,
        autolink: true,
        defaultProtocol: 'https',
        // The server adds rel="noopener nofollow" to every link on save.
        HTMLAttributes: { rel: null, target: null },
      },
      code: false,
      codeBlock: false,
    }),
    Figure,
    MediaEmbed,
  ];
}

export function enhanceBodyField(textarea: HTMLTextAreaElement): void {
  const form = textarea.form;
  const reduced = textarea.dataset.rich === 'reduced';
  const csrf = (form?.querySelector('input[name="_csrf"]') as HTMLInputElement | null)?.value ?? '';
  const pasteUrl = textarea.dataset.pasteUrl ?? '/editor/paste';
  const wrapper = Object.assign(document.createElement('div'), { className: 'rich-editor' });
  const bar = Object.assign(document.createElement('div'), { className: 'rich-toolbar' });
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', 'Formatting');
  const surface = document.createElement('div');
  textarea.before(wrapper);
  wrapper.append(bar, surface, textarea);
  const format = form?.querySelector('input[name="bodyFormat"]') as HTMLInputElement | null;
  if (format) format.value = 'html';
  // A hidden field cannot be required (the browser could not show where to type); the server still checks it.
  textarea.required = false;

  const sync = () => {
    // Empty paragraphs (the one kept after a trailing image, blank lines) mean nothing on the page.
    textarea.value = editor.isEmpty ? '' : editor.getHTML().replace(/<p><\/p>/g, '');
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const editor: Editor = new Editor({
    element: surface,
    extensions: extensions(),
    content: textarea.value,
    // The editor's CSP allows no inline <style>: its few rules are in editor.css.
    injectCSS: false,
    editorProps: {
      attributes: {
        class: 'rich-surface',
        'aria-multiline': 'true',
        'aria-labelledby': textarea.getAttribute('aria-labelledby') ?? '',
        ...(textarea.readOnly ? { 'aria-readonly': 'true' } : {}),
      },
      handlePaste(view, event) {
        const html = event.clipboardData?.getData('text/html') ?? '';
        // The editor's own copies (data-pm-slice) are already in its schema.
        if (!html || html.includes('data-pm-slice')) return false;
        const text = event.clipboardData?.getData('text/plain') ?? '';
        const { from, to } = view.state.selection;
        sanitizedPaste(html, pasteUrl, csrf)
          // Whitespace between the pasted blocks is HTML's, not text: collapse it as a browser would.
          .then((clean) =>
            editor
              .chain()
              .focus()
              .insertContentAt({ from, to }, clean, { parseOptions: { preserveWhitespace: false } })
              .run(),
          )
          // Cleaning failed (offline, session ended): the words, without their formatting.
          .catch(() => editor.chain().focus().insertContentAt({ from, to }, { type: 'text', text }).run());
        return true;
      },
    },
    editable: !textarea.readOnly,
    onUpdate: sync,
  });
  const refresh = buildToolbar(bar, editor, reduced ? REDUCED_TOOLS : FULL_TOOLS);
  editor.on('transaction', refresh);

  let source = false;
  const toggle = Object.assign(document.createElement('button'), { type: 'button', textContent: 'HTML' });
  toggle.dataset.tool = 'source';
  const showSource = (on: boolean) => {
    source = on;
    toggle.setAttribute('aria-pressed', String(on));
    textarea.hidden = !on;
    surface.hidden = on;
    for (const b of bar.querySelectorAll<HTMLButtonElement>('button')) if (b !== toggle) b.disabled = on;
    if (!on) editor.commands.setContent(textarea.value, { emitUpdate: false });
  };
  toggle.addEventListener('click', () => showSource(!source));
  if (!reduced) bar.append(toggle);
  textarea.addEventListener(SET_VALUE_EVENT, () => {
    if (!source) editor.commands.setContent(textarea.value, { emitUpdate: false });
  });
  showSource(!reduced && unkeptMarkup(textarea.value));
  if (source) wrapper.append(unkeptNote());
  // When the editor took over, on the page's clock (bench/editor-load.bench.ts reads it).
  wrapper.dataset.readyAt = String(Math.round(performance.now()));
  wrapper.dataset.ready = 'true';
}
