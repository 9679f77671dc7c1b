// A small modal form for the toolbar (link address, image alt text and
// caption, the media library's files), built on <dialog> so focus, Escape
// and the backdrop behave as the browser's own.

export interface DialogField {
  name: string;
  label: string;
  value?: string;
  required?: boolean;
  type?: 'text' | 'url';
  hint?: string;
}

export interface MediaChoice {
  path: string;
  kind: 'image' | 'audio' | 'video';
  originalName: string;
  width: number | null;
  height: number | null;
  renditionPath: string | null;
}

let dialogs = 0;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}) {
  return Object.assign(document.createElement(tag), props);
}

/** The chosen file's path, from radios filled once the library answers. */
function mediaPicker(kinds: string[]): { fieldset: HTMLFieldSetElement; chosen(): MediaChoice | undefined } {
  const fieldset = element('fieldset', { className: 'media-picker' });
  fieldset.append(element('legend', { textContent: 'From the media library' }));
  const status = element('p', { className: 'hint', textContent: 'Loading the library…' });
  fieldset.append(status);
  const choices = new Map<string, MediaChoice>();
  Promise.all(
    kinds.map((kind) =>
      fetch(`/editor/media.json?kind=${kind}`, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
        .then((body: { media: MediaChoice[] }) => body.media),
    ),
  )
    .then((lists) => {
      const all = lists.flat();
      status.textContent = all.length ? '' : 'The library has no such files yet: upload them on the Media page.';
      for (const item of all) {
        choices.set(item.path, item);
        const label = element('label', { className: 'check media-choice' });
        const radio = document.createElement('input');
        Object.assign(radio, { type: 'radio', name: 'media', value: item.path, required: true });
        label.append(radio);
        if (item.kind === 'image') label.append(element('img', { src: item.renditionPath ?? item.path, alt: '' }));
        label.append(document.createTextNode(item.originalName || item.path));
        fieldset.append(label);
      }
    })
    .catch(() => {
      status.textContent = 'The media library could not be loaded (is your session still open?).';
    });
  return {
    fieldset,
    chosen: () =>
      choices.get((fieldset.querySelector('input[name="media"]:checked') as HTMLInputElement | null)?.value ?? ''),
  };
}

/** Shows a modal form; resolves with the fields' values (and the chosen media), or null when cancelled. */
export function ask(
  title: string,
  fields: DialogField[],
  options: { media?: string[]; submitLabel?: string; extraButton?: string } = {},
): Promise<{ values: Record<string, string>; media?: MediaChoice; button: string } | null> {
  const id = `rich-dialog-${++dialogs}`;
  const dialog = element('dialog', { className: 'rich-dialog' });
  dialog.setAttribute('aria-labelledby', id);
  const form = element('form', { method: 'dialog', className: 'stack' });
  form.append(element('h2', { id, textContent: title }));
  const picker = options.media ? mediaPicker(options.media) : undefined;
  if (picker) form.append(picker.fieldset);
  for (const field of fields) {
    const label = element('label', { textContent: field.label });
    const input = document.createElement('input');
    input.name = field.name;
    input.type = field.type ?? 'text';
    input.value = field.value ?? '';
    input.required = field.required ?? false;
    label.append(input);
    if (field.hint) label.append(element('small', { className: 'hint', textContent: field.hint }));
    form.append(label);
  }
  const actions = element('div', { className: 'actions' });
  actions.append(element('button', { value: 'ok', className: 'primary', textContent: options.submitLabel ?? 'Apply' }));
  if (options.extraButton)
    actions.append(element('button', { value: 'extra', formNoValidate: true, textContent: options.extraButton }));
  actions.append(element('button', { value: 'cancel', formNoValidate: true, textContent: 'Cancel' }));
  form.append(actions);
  dialog.append(form);
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const button = dialog.returnValue;
      const values = Object.fromEntries(
        fields.map((f) => [f.name, (form.elements.namedItem(f.name) as HTMLInputElement).value.trim()]),
      );
      const media = picker?.chosen();
      dialog.remove();
      resolve(button === 'ok' || button === 'extra' ? { values, media, button } : null);
    });
    dialog.showModal();
    (form.querySelector('input:not([type="radio"])') as HTMLInputElement | null)?.focus();
  });
}
