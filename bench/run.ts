// `npm run bench`: runs every bench/*.bench.ts (or those whose name contains
// an argument) one after another, each in its own process so one bench's
// memory does not colour the next. Each bench prints a table and writes
// bench/results/<name>.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const filters = process.argv.slice(2);
const files = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no bench matches ${filters.join(', ')}\n`);
  process.exit(1);
}
fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, file)], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`${file} failed (exit ${result.status ?? result.signal})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
