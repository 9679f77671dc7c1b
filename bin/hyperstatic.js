#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx, so a fresh clone needs no build step.
require('tsx/cjs');
require('./cli.ts');
