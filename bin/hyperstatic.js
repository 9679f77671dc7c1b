#!/usr/bin/env node
// Launcher. Which code runs follows one rule (docs/operations.md, "Install"):
// - production: NODE_ENV=production, or tsx is not installed (`npm ci
//   --omit=dev`). Runs the compiled build in dist/ (`npm run build`), with no
//   TypeScript loader; without a build it stops with exit status 2.
// - development: anything else. Runs the TypeScript sources through tsx,
//   whatever dist/ holds, so a build older than an edit never runs in its place.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'bin', 'cli.js');

function tsxLoader() {
  try {
    return require.resolve('tsx/cjs');
  } catch {
    return undefined;
  }
}

const loader = process.env.NODE_ENV === 'production' ? undefined : tsxLoader();
if (loader) {
  require(loader);
  require('./cli.ts');
} else if (fs.existsSync(compiled)) {
  require(compiled);
} else {
  process.stderr.write(
    `hyperstatic: no compiled build at ${compiled}. Run \`npm run build\` in ${path.dirname(__dirname)} ` +
      '(production runs compiled code: NODE_ENV=production, or tsx not installed).\n',
  );
  process.exitCode = 2;
}
