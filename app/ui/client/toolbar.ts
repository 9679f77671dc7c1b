// The formatting toolbar: one button per tool, each showing whether it
// applies at the cursor (aria-pressed). The public submission form gets the
// reduced set: words, links, lists and quotes, no media or headings.
import type { Editor } from '@tiptap/core';
import { NodeSelection } from '@tiptap/pm/state';
import { ask } from './dialog';

export interface Tool {
  name: string;
  label: string;
  run(editor: Editor): void | Promise<void>;
  active?(editor: Editor): boolean;
}

async function editLink(editor: Editor): Promise<void> {
  const current = (editor.getAttributes('link').href as string | undefined) ?? '';
  const answer = await ask(
    'Link',
    [{ name: 'href', label: 'Address', type: 'url', value: current, required: true, hint: 'https://… or mailto:…' }],
    {
      extraButton: current ? 'Remove link' : undefined,
    },
  );
  if (!answer) return void editor.commands.focus();
  const chain = editor.chain().focus().extendMarkRange('link');
  if (answer.button === 'extra') return void chain.unsetLink().run();
  const href = answer.values.href;
  if (editor.state.selection.empty && !current)
    return void chain.insertContent({ type: 'text', text: href, marks: [{ type: 'link', attrs: { href } }] }).run();
  chain.setLink({ href }).run();
}

/** Inserts an image or player with a paragraph after it, so typing goes on below it (and the next insert does not replace it). */
function insertBlock(editor: Editor, node: { type: string; attrs: Record<string, unknown> }): void {
  editor
    .chain()
    .focus()
    .insertContent([node, { type: 'paragraph' }])
    .run();
}

function selectedFigure(editor: Editor): Record<string, unknown> | undefined {
  const { selection } = editor.state;
  return selection instanceof NodeSelection && selection.node.type.name === 'figure' ? selection.node.attrs : undefined;
}

/** Inserts an image from the library with its alt text and caption, or edits the selected one's. */
async function editImage(editor: Editor): Promise<void> {
  const current = selectedFigure(editor);
  const fields = [
    {
      name: 'alt',
      label: 'Alt text (what the image shows, for people who cannot see it)',
      value: String(current?.alt ?? ''),
      required: true,
    },
    { name: 'caption', label: 'Caption (optional)', value: String(current?.caption ?? '') },
  ];
  const answer = await ask(current ? 'Image' : 'Insert an image', fields, {
    media: current ? undefined : ['image'],
    submitLabel: current ? 'Apply' : 'Insert',
  });
  if (!answer) return void editor.commands.focus();
  if (current) return void editor.chain().focus().updateAttributes('figure', answer.values).run();
  if (!answer.media) return;
  const { path: src, width, height } = answer.media;
  insertBlock(editor, { type: 'figure', attrs: { src, width, height, ...answer.values } });
}

async function insertPlayer(editor: Editor): Promise<void> {
  const answer = await ask('Insert audio or video', [], { media: ['audio', 'video'], submitLabel: 'Insert' });
  if (!answer?.media) return void editor.commands.focus();
  insertBlock(editor, { type: 'mediaEmbed', attrs: { kind: answer.media.kind, src: answer.media.path } });
}

const TOOLS: Record<string, Tool> = {
  bold: {
    name: 'bold',
    label: 'Bold',
    run: (e) => void e.chain().focus().toggleBold().run(),
    active: (e) => e.isActive('bold'),
  },
  italic: {
    name: 'italic',
    label: 'Italic',
    run: (e) => void e.chain().focus().toggleItalic().run(),
    active: (e) => e.isActive('italic'),
  },
  h2: {
    name: 'h2',
    label: 'Heading',
    run: (e) => void e.chain().focus().toggleHeading({ level: 2 }).run(),
    active: (e) => e.isActive('heading', { level: 2 }),
  },
  h3: {
    name: 'h3',
    label: 'Subheading',
    run: (e) => void e.chain().focus().toggleHeading({ level: 3 }).run(),
    active: (e) => e.isActive('heading', { level: 3 }),
  },
  bulletList: {
    name: 'bulletList',
    label: 'List',
    run: (e) => void e.chain().focus().toggleBulletList().run(),
    active: (e) => e.isActive('bulletList'),
  },
  orderedList: {
    name: 'orderedList',
    label: 'Numbered',
    run: (e) => void e.chain().focus().toggleOrderedList().run(),
    active: (e) => e.isActive('orderedList'),
  },
  blockquote: {
    name: 'blockquote',
    label: 'Quote',
    run: (e) => void e.chain().focus().toggleBlockquote().run(),
    active: (e) => e.isActive('blockquote'),
  },
  link: { name: 'link', label: 'Link', run: editLink, active: (e) => e.isActive('link') },
  image: { name: 'image', label: 'Image', run: editImage, active: (e) => Boolean(selectedFigure(e)) },
  media: { name: 'media', label: 'Audio/video', run: insertPlayer },
  undo: { name: 'undo', label: 'Undo', run: (e) => void e.chain().focus().undo().run() },
  redo: { name: 'redo', label: 'Redo', run: (e) => void e.chain().focus().redo().run() },
};

export const FULL_TOOLS = [
  'bold',
  'italic',
  'h2',
  'h3',
  'bulletList',
  'orderedList',
  'blockquote',
  'link',
  'image',
  'media',
  'undo',
  'redo',
];
export const REDUCED_TOOLS = ['bold', 'italic', 'link', 'bulletList', 'orderedList', 'blockquote', 'undo', 'redo'];

/** Fills `bar` with the named tools' buttons; returns a function that refreshes their pressed state. */
export function buildToolbar(bar: HTMLElement, editor: Editor, names: string[]): () => void {
  const buttons = names.map((name) => {
    const tool = TOOLS[name];
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: tool.label });
    button.dataset.tool = name;
    // A mouse press would take focus (and the selection) from the text before the click runs the tool:
    // keys typed right after landed on the button, and a space pressed it again. Keyboard use is unchanged.
    button.addEventListener('mousedown', (event) => event.preventDefault());
    button.addEventListener('click', () => void tool.run(editor));
    bar.append(button);
    return { tool, button };
  });
  return () => {
    for (const { tool, button } of buttons)
      if (tool.active) button.setAttribute('aria-pressed', String(tool.active(editor)));
  };
}
