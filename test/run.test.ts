// test/run.js starts a shared server only for the files that reach it through their imports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { servicesOf, servicesOfClause } = require('./run.js') as {
  servicesOf(file: string, cache: Map<string, unknown>): Set<string>;
  servicesOfClause(clause: string | undefined): string[];
};

const ROOT = path.resolve(__dirname, '..');
fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
const dir = fs.mkdtempSync(path.join(ROOT, 'test-output', 'run-rule-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes a module under a scratch folder of the repository and returns its path. */
function module(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
const harness = path.relative(dir, path.join(ROOT, 'test/harness/shared')).split(path.sep).join('/');
const needs = (file: string) => [...servicesOf(file, new Map())].sort();

describe('npm test: which shared servers a file needs', () => {
  it('reads the names a file imports from the shared harness', () => {
    assert.deepEqual(servicesOfClause('{ sharedDatabase, SharedDatabase }'), ['mariadb']);
    assert.deepEqual(servicesOfClause('{\n  sharedRedisUrl as redisUrl,\n  type SharedCluster,\n}'), ['redis']);
    assert.deepEqual(servicesOfClause('{ sharedCluster, sharedRedisUrl }'), ['mariadb', 'redis']);
    assert.deepEqual(servicesOfClause('type { SharedDatabase }'), []);
    assert.deepEqual(servicesOfClause('* as shared'), ['mariadb', 'redis'], 'a namespace may use anything');
    assert.deepEqual(servicesOfClause(undefined), ['mariadb', 'redis'], 'require() and import() too');
  });

  it('starts nothing for a file that never reaches the harness', () => {
    const unit = module('unit.test.ts', "import assert from 'node:assert';\nimport { x } from './plain';\n");
    module('plain.ts', 'export const x = 1;\n');
    assert.deepEqual(needs(unit), []);
  });

  it('follows relative imports through helpers, however deep, and through an import cycle', () => {
    module('db-helper.ts', `import { sharedDatabase } from '${harness}';\nimport './cycle-b';\n`);
    module('cycle-b.ts', "import { helper } from './db-helper';\nexport * from './redis-helper';\n");
    module('redis-helper.ts', `export { sharedRedisUrl } from '${harness}';\n`);
    const file = module('deep.test.ts', "import { startSite } from './db-helper';\n");
    assert.deepEqual(needs(file), ['mariadb', 'redis']);
    const typeOnly = module('types.test.ts', `import type { SharedDatabase } from '${harness}';\n`);
    assert.deepEqual(needs(typeOnly), []);
  });

  it("sorts the repository's own tests as expected", () => {
    assert.deepEqual(needs(path.join(ROOT, 'test/integration/producer-bulk-insert.test.ts')), ['mariadb']);
    assert.deepEqual(needs(path.join(ROOT, 'test/integration/producer-site.test.ts')), ['mariadb', 'redis']);
    assert.deepEqual(needs(path.join(ROOT, 'producer/affected-pages.test.ts')), []);
  });
});
