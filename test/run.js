#!/usr/bin/env node
// `npm test [-- filter...]`: start one MariaDB primary + replica and one Redis
// for the whole run, then hand every *.test.ts to node's test runner. One
// shared cluster (each file takes its own database) keeps a full run from
// paying ~1.5 s of server startup per file; files run one at a time so
// timing-sensitive failover tests do not fight for the 2 CI cores.
/* global require, process, __dirname, console */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
// Integration and end-to-end tests live under test/; unit tests may sit next to the code.
const SEARCH_DIRS = [
  'test/unit',
  'test/integration',
  'test/e2e',
  'test/browser',
  'app',
  'producer',
  'mirrors',
  'cache-proxy',
  'common',
];
const PER_TEST_TIMEOUT_MS = Number(process.env.HS_TEST_TIMEOUT_MS || 300_000);

function findTests(dir, found) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(full, found);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

// The spec reporter's closing lines (`ℹ pass 12`) are the one summary that
// survives --test-force-exit; a TAP file reporter gets cut off before its
// summary is flushed.
function summaryFromSpec(output) {
  // eslint-disable-next-line no-control-regex
  const text = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (key) => {
    const matches = [...text.matchAll(new RegExp(`^ℹ ${key} (\\d+)$`, 'gm'))];
    return matches.length ? Number(matches[matches.length - 1][1]) : undefined;
  };
  const pass = count('pass');
  if (pass === undefined) return undefined;
  return {
    pass,
    fail: (count('fail') || 0) + (count('cancelled') || 0),
    skipped: (count('skipped') || 0) + (count('todo') || 0),
  };
}

async function main() {
  const filters = process.argv.slice(2);
  const all = SEARCH_DIRS.flatMap((d) => findTests(path.join(ROOT, d), []))
    .map((f) => path.relative(ROOT, f))
    .sort();
  const files = filters.length === 0 ? all : all.filter((f) => filters.some((filter) => f.includes(filter)));
  if (files.length === 0) {
    console.log(filters.length ? `no test file matches ${filters.join(', ')}` : 'no test files found');
    console.log('0 passed, 0 failed');
    return filters.length ? 1 : 0;
  }

  require('tsx/cjs');
  const { startSharedServers } = require('./harness/shared.ts');
  const started = Date.now();
  const shared = await startSharedServers();
  console.log(`shared MariaDB (primary + replica) and Redis ready in ${Date.now() - started} ms`);

  try {
    const args = [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      `--test-timeout=${PER_TEST_TIMEOUT_MS}`,
      // A test that leaks a socket or timer must not hang CI forever.
      '--test-force-exit',
      '--test-reporter=spec',
      ...files,
    ];
    // Piped so the summary can be counted; keep the colours a terminal would have had.
    const colour = process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {};
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['inherit', 'pipe', 'inherit'],
      env: { ...process.env, ...colour, ...shared.env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output = (output + chunk.toString()).slice(-65536);
    });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise((resolve) => {
      child.once('error', (err) => {
        console.error(`could not start the test runner: ${err.message}`);
        resolve(1);
      });
      child.once('close', (status, signal) => resolve(signal ? 1 : (status ?? 1)));
    });
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);

    const summary = summaryFromSpec(output);
    if (!summary) {
      console.log('the test runner printed no summary (did it crash?)');
      console.log('0 passed, 0 failed');
      return code || 1;
    }
    console.log(
      `${summary.pass} passed, ${summary.fail} failed${summary.skipped ? `, ${summary.skipped} skipped` : ''}`,
    );
    return summary.fail > 0 && code === 0 ? 1 : code;
  } finally {
    await shared.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    console.log('0 passed, 0 failed');
    process.exit(1);
  },
);
