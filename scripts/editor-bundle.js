// The editor's browser script (app/ui/client/, Tiptap on ProseMirror) as one
// minified file, built by esbuild. Run by `npm run build` (scripts/build.js)
// into dist/, and on demand by the app when running from the sources
// (app/ui/editor-bundle.ts), so `npm start` and `npm test` need no extra step.
/* global require, module, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ENTRY = path.resolve(__dirname, '../app/ui/client/rich-editor.ts');

/** Writes the bundle to `outfile` (through a temporary file and a rename: a server reading it never sees half). */
function buildEditorBundle(outfile) {
  const esbuild = require('esbuild');
  const partial = `${outfile}.${process.pid}.partial`;
  esbuild.buildSync({
    entryPoints: [ENTRY],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    legalComments: 'none',
    logLevel: 'error',
    outfile: partial,
  });
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  fs.renameSync(partial, outfile);
}

module.exports = { buildEditorBundle, ENTRY };
