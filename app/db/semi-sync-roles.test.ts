import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeSemiSync } from './semi-sync-roles';

const semi = (
  s: Partial<{ sourceEnabled: boolean; sourceActive: boolean; clients: number; replicaEnabled: boolean }>,
) => ({
  sourceEnabled: false,
  sourceActive: false,
  clients: 0,
  replicaEnabled: false,
  ...s,
});

describe('the SEMI-SYNC column of db status', () => {
  test('a primary whose source side is on but inactive fell back to async', () => {
    assert.equal(
      describeSemiSync('primary', semi({ sourceEnabled: true, sourceActive: false })),
      'source OFF (fell back to async), 0 replica(s)',
    );
    assert.equal(
      describeSemiSync('primary', semi({ sourceEnabled: true, sourceActive: true, clients: 2 })),
      'source ON, 2 replica(s)',
    );
    assert.equal(describeSemiSync('primary', semi({ replicaEnabled: true })), 'off');
  });

  test('a replica is never said to have fallen back, even with the source side (wrongly) on', () => {
    assert.equal(describeSemiSync('replica', semi({ replicaEnabled: true })), 'replica ON');
    const misconfigured = describeSemiSync('replica', semi({ replicaEnabled: true, sourceEnabled: true }));
    assert.doesNotMatch(misconfigured!, /fell back/);
    assert.match(misconfigured!, /^replica ON; source side also ON, which stalls its commits/);
    assert.equal(describeSemiSync('standalone', semi({})), 'off');
    assert.equal(describeSemiSync('unreachable', undefined), null);
  });
});
