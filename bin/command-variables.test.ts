// Each command's --help lists the variables it reads: the lists name only
// real variables, and every variable is read by some command.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeVariables, variableNames } from '../common/config';
import { COMMAND_VARIABLES, variablesOf } from './command-variables';

describe('variables per command', () => {
  it('names only variables of common/config.ts', () => {
    for (const [command, names] of Object.entries(COMMAND_VARIABLES))
      assert.doesNotThrow(() => describeVariables(names), command);
  });

  it('leaves no variable unread by every command', () => {
    const read = new Set(Object.values(COMMAND_VARIABLES).flat());
    assert.deepEqual(
      variableNames().filter((name) => !read.has(name)),
      [],
    );
  });

  it('finds a subcommand through its group, the exact entry first', () => {
    assert.ok(variablesOf(['db', 'status'])?.includes('DATABASE_ADMIN_PASSWORD'));
    assert.ok(!variablesOf(['db', 'migrate'])?.includes('DATABASE_ADMIN_PASSWORD'));
    assert.deepEqual(variablesOf(['keys', 'root', 'init']), []);
    assert.equal(variablesOf(['nonesuch']), undefined);
  });

  it('keeps what the embedded mode wires itself out of `all`', () => {
    const all = variablesOf(['all'])!;
    assert.ok(all.includes('PROXY_CACHE_BYTES') && all.includes('APP_PORT'));
    assert.ok(!all.includes('PROXY_UPSTREAMS') && !all.includes('MIRROR_ORIGIN_URLS'));
  });
});
