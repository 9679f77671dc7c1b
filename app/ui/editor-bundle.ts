// The editor's browser script (app/ui/client/), bundled by esbuild. The
// compiled build carries it (scripts/build.js writes it into dist/); run
// from the sources (npm start, npm test) it is built here on first use and
// again whenever a client source or the lock file is newer than it, so a
// fresh clone needs no extra step. Its gzip and brotli copies are written
// beside it (app/ui/static-assets.ts serves them).
import fs from 'node:fs';
import path from 'node:path';

export const EDITOR_BUNDLE = 'rich-editor.js';
const CLIENT_DIR = path.join(__dirname, 'client');
const LOCK_FILE = path.join(__dirname, '../../package-lock.json');

function newestSource(): number {
  const files = fs.readdirSync(CLIENT_DIR).map((name) => path.join(CLIENT_DIR, name));
  return Math.max(...[...files, LOCK_FILE].filter((f) => fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs));
}

/** Makes sure `staticDir` holds an up-to-date bundle (and its compressed copies). */
export function ensureEditorBundle(staticDir: string): void {
  const bundle = path.join(staticDir, EDITOR_BUNDLE);
  const fromSources = fs.existsSync(path.join(CLIENT_DIR, 'rich-editor.ts'));
  const stale = (file: string) => !fs.existsSync(file) || fs.statSync(file).mtimeMs < newestSource();
  if (fromSources && [bundle, `${bundle}.gz`, `${bundle}.br`].some(stale)) {
    // esbuild is a devDependency: only the sources need it, never the compiled build.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { buildEditorBundle } = require('../../scripts/editor-bundle.js') as { buildEditorBundle(out: string): void };
    buildEditorBundle(bundle);
  }
  if (!fs.existsSync(bundle))
    throw new Error(`the editor's script ${bundle} is missing: run \`npm run build\` (it bundles app/ui/client/)`);
}
