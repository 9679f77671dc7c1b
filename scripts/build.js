#!/usr/bin/env node
// `npm run build [-- --out-dir DIR]`: compiles the CLI and every process to
// JavaScript in dist/ (tsconfig.build.json: no tests, no benches), then copies
// beside the compiled modules the files they read at run time through
// __dirname (templates, stylesheets, the editor's static files), so dist/ is
// one consistent snapshot of the sources. bin/hyperstatic.js runs it in
// production (docs/operations.md, "Install").
//
// The build is written to DIR.partial and swapped in by rename: a process
// starting meanwhile finds the old build or the new one, never half of one,
// and a file deleted from the sources does not linger in the next build.
/* global require, process, __dirname, console */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { buildEditorBundle } = require('./editor-bundle');

const ROOT = path.resolve(__dirname, '..');
const CONFIG = path.join(ROOT, 'tsconfig.build.json');
/** Sources that are not TypeScript and stay out of the build: the launcher itself. */
const NOT_COPIED = new Set([path.join(ROOT, 'bin/hyperstatic.js')]);

function outDirFromArgs(args) {
  const at = args.indexOf('--out-dir');
  if (at === -1) return path.join(ROOT, 'dist');
  if (!args[at + 1]) throw new Error('--out-dir needs a directory');
  return path.resolve(args[at + 1]);
}

/** Copies every file under `from` that tsc does not compile (anything but *.ts) to the same place under `to`. */
function copyAssets(from, to) {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) copyAssets(source, target);
    else if (entry.isFile() && !entry.name.endsWith('.ts') && !NOT_COPIED.has(source)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(source, target);
    }
  }
}

function build(outDir) {
  const partial = `${outDir}.partial`;
  const old = `${outDir}.old`;
  fs.rmSync(partial, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', CONFIG, '--outDir', partial], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    fs.rmSync(partial, { recursive: true, force: true });
    return tsc.status || 1;
  }
  const { include } = JSON.parse(fs.readFileSync(CONFIG, 'utf8'));
  for (const dir of include) copyAssets(path.join(ROOT, dir), path.join(partial, dir));
  // The editor's browser script, bundled from app/ui/client/ (the compiled app serves it, never builds it).
  fs.rmSync(path.join(partial, 'app/ui/client'), { recursive: true, force: true });
  buildEditorBundle(path.join(partial, 'app/ui/static/rich-editor.js'));
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
  fs.renameSync(partial, outDir);
  fs.rmSync(old, { recursive: true, force: true });
  console.log(`built ${outDir}`);
  return 0;
}

process.exitCode = build(outDirFromArgs(process.argv.slice(2)));
