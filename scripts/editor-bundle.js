// The editor's browser script (app/ui/client/, Tiptap on ProseMirror) as one
// minified file, built by esbuild. Run by `npm run build` (scripts/build.js)
// into dist/, and on demand by the app when running from the sources
// (app/ui/editor-bundle.ts), so `npm start` and `npm test` need no extra step.
// Beside it, its gzip (-9) and brotli (quality 11) copies, made once here,
// which the app serves to browsers that accept them (app/ui/static-assets.ts).
/* global require, module, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

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
  const bytes = fs.readFileSync(partial);
  fs.renameSync(partial, outfile);
  // Written after the bundle, so each copy is at least as new as it (an older copy is ignored).
  writeAtomically(`${outfile}.gz`, zlib.gzipSync(bytes, { level: zlib.constants.Z_BEST_COMPRESSION }));
  writeAtomically(
    `${outfile}.br`,
    zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }),
  );
}

function writeAtomically(file, bytes) {
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, bytes);
  fs.renameSync(partial, file);
}

module.exports = { buildEditorBundle, ENTRY };
