// The editor's script bundle (built by esbuild: app/ui/editor-bundle.ts,
// scripts/build.js): enhances every body field marked data-rich and keeps
// the work of the form marked data-draft-key. Pages work without it.
import { enhanceBodyField } from './body-editor';
import { keepWork } from './work-keeper';

for (const textarea of document.querySelectorAll<HTMLTextAreaElement>('textarea[data-rich]'))
  enhanceBodyField(textarea);
const form = document.querySelector<HTMLFormElement>('form[data-draft-key]');
if (form) keepWork(form);
