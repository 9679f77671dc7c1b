#!/usr/bin/env node
// `npm test [-- filter...]`: start the shared servers the selected files need
// (a MariaDB primary + replica, a Redis) once for the whole run, then hand
// every selected *.test.ts to node's test runner. One shared cluster (each
// file takes its own database) keeps a full run from paying ~1.5 s of server
// startup per file; files run one at a time so timing-sensitive failover
// tests do not fight for the 2 CI cores.
//
// Which servers a file needs, decided from its imports:
// - the shared MariaDB when the file, or a module it reaches through relative
//   imports (followed from module to module), imports sharedDatabase or
//   sharedCluster from test/harness/shared.ts;
// - the shared Redis when such an import names sharedRedisUrl;
// - a namespace, default, require() or import() of test/harness/shared.ts
//   counts as both; `import type` as neither.
// A file that reaches none of these (a unit test) starts no server at all.
// The decision is checked, not trusted: each test process is told which files
// each server was started for (HS_TEST_SERVICES), and shared.ts throws when a
// file that was not detected asks for a server, even when another selected
// file's servers are running. A file that starts its own servers
// (startMariaDBCluster, startRedis) needs nothing from here.
/* global require, process, __dirname, console, module */
/* eslint-disable @typescript-eslint/no-require-imports */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
// Integration and end-to-end tests live under test/; unit tests sit next to the code they test.
const SEARCH_DIRS = ['test', 'app', 'producer', 'mirrors', 'cache-proxy', 'common', 'bin', 'fixtures'];
const SHARED_HARNESS = path.join(ROOT, 'test/harness/shared.ts');
/** The exports of test/harness/shared.ts that reach a shared server, and the server each one needs. */
const SERVICE_OF_EXPORT = { sharedDatabase: 'mariadb', sharedCluster: 'mariadb', sharedRedisUrl: 'redis' };
const ALL_SERVICES = ['mariadb', 'redis'];
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

/** `spec` imported from `from`, as a file path, or undefined for a package or a file that is not code. */
function resolveImport(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [
    base,
    `${base}.ts`,
    `${base}.js`,
    path.join(base, 'index.ts'),
    path.join(base, 'index.js'),
  ]) {
    if (/\.[cm]?[jt]s$/.test(candidate) && fs.existsSync(candidate) && fs.statSync(candidate).isFile())
      return candidate;
  }
  return undefined;
}

/** The servers an import clause of test/harness/shared.ts needs (the rule at the top of this file). */
function servicesOfClause(clause) {
  if (clause === undefined) return ALL_SERVICES; // require(), import(), a bare import
  const trimmed = clause.trim();
  if (/^type\s/.test(trimmed)) return [];
  const named = /^\{([^}]*)\}$/.exec(trimmed);
  if (!named) return ALL_SERVICES; // `* as shared`, a default import, or a mix
  return named[1]
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n && !n.startsWith('type '))
    .map((n) => SERVICE_OF_EXPORT[n.split(/\s+as\s+/)[0]])
    .filter(Boolean);
}

const IMPORTS = [
  // import x from '…', import { a, type B } from '…', export { a } from '…', import type { T } from '…'
  { pattern: /\b(?:import|export)\s+((?:type\s+)?[\w*{}\s,$]*?)\s*from\s*['"]([^'"]+)['"]/g, clause: 1, spec: 2 },
  // import './x', require('./x'), import('./x')
  { pattern: /\bimport\s*['"]([^'"]+)['"]/g, spec: 1 },
  { pattern: /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g, spec: 1 },
];

/** What `file` imports itself: the local modules, and the shared servers its imports of shared.ts name. */
function directImports(file, cache) {
  if (cache.has(file)) return cache.get(file);
  const found = { modules: new Set(), services: new Set() };
  const text = fs.readFileSync(file, 'utf8');
  for (const { pattern, clause, spec } of IMPORTS) {
    for (const match of text.matchAll(pattern)) {
      const target = resolveImport(file, match[spec]);
      if (target === SHARED_HARNESS) {
        for (const service of servicesOfClause(clause === undefined ? undefined : match[clause]))
          found.services.add(service);
      } else if (target) found.modules.add(target);
    }
  }
  cache.set(file, found);
  return found;
}

/** The shared servers `file` needs: those named by it or by any local module it reaches, however indirectly. */
function servicesOf(file, cache) {
  const needed = new Set();
  const seen = new Set([file]);
  const pending = [file];
  while (pending.length > 0) {
    const { modules, services } = directImports(pending.pop(), cache);
    for (const service of services) needed.add(service);
    for (const module of modules) {
      if (!seen.has(module)) {
        seen.add(module);
        pending.push(module);
      }
    }
  }
  return needed;
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

/** Starts the servers asked for (none: nothing to start, not even the TypeScript loader). */
async function startShared(wanted) {
  if (!wanted.mariadb && !wanted.redis) {
    console.log('no shared server needed by the selected files');
    return { env: {}, stop: async () => undefined };
  }
  require('tsx/cjs');
  const { startSharedServers } = require('./harness/shared.ts');
  const started = Date.now();
  const shared = await startSharedServers(wanted);
  const names = [wanted.mariadb && 'MariaDB (primary + replica)', wanted.redis && 'Redis'].filter(Boolean);
  console.log(`shared ${names.join(' and ')} ready in ${Date.now() - started} ms`);
  return shared;
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

  const cache = new Map();
  const needs = Object.fromEntries(ALL_SERVICES.map((service) => [service, []]));
  for (const file of files) {
    for (const service of servicesOf(path.join(ROOT, file), cache)) needs[service].push(path.join(ROOT, file));
  }
  const shared = await startShared({ mariadb: needs.mariadb.length > 0, redis: needs.redis.length > 0 });

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
      env: { ...process.env, ...colour, ...shared.env, HS_TEST_SERVICES: JSON.stringify(needs) },
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

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err && err.stack ? err.stack : err);
      console.log('0 passed, 0 failed');
      process.exit(1);
    },
  );
}

// For test/run.test.ts: the rule that decides which servers a file needs.
module.exports = { servicesOf, servicesOfClause };
