import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeStatus } from '../../common/db/node-status';
import { planBootstrap } from './bootstrap-plan';

const nodes = [
  { name: 'db1', url: 'mysql://app:pw@10.0.0.1:3306/hyperstatic' },
  { name: 'db2', url: 'mysql://app:pw@10.0.0.2:3306/hyperstatic' },
];

function fresh(name: string, extra: Partial<NodeStatus> = {}): NodeStatus {
  const host = name === 'db1' ? '10.0.0.1' : '10.0.0.2';
  return { name, host, port: 3306, reachable: true, readOnly: true, currentGtid: '', databaseMissing: true, ...extra };
}

describe('whether db bootstrap may open a node', () => {
  test('an empty node of a cluster with no record, replication or writable node is bootstrapped', () => {
    const plan = planBootstrap(nodes, [fresh('db1'), fresh('db2')], 'db1', 0);
    assert.deepEqual(plan.problems, []);
    assert.ok(plan.steps.some((s) => /make db1 writable/.test(s)));
  });

  test('a topology record on any node refuses, naming the primary and epoch', () => {
    const topology = { primary: 'db2', epoch: 3, promotedAtGtid: '0-2-9', updatedAt: 0 };
    const plan = planBootstrap(nodes, [fresh('db1'), fresh('db2', { topology })], 'db1', 0);
    assert.match(plan.problems.join('\n'), /already has a primary: db2 at epoch 3 \(recorded on db2\)/);
  });

  test('replication from or to the node, another writable node and content each refuse', () => {
    const replica = {
      sourceHost: '10.0.0.1',
      sourcePort: 3306,
      ioRunning: true,
      sqlRunning: true,
      secondsBehind: 0,
      lastError: '',
      receivedGtid: '',
    };
    const asPrimary = planBootstrap(nodes, [fresh('db1'), fresh('db2', { replica, readOnly: false })], 'db1', 5);
    assert.match(asPrimary.problems.join('\n'), /db2 already replicates from db1/);
    assert.match(asPrimary.problems.join('\n'), /db2 is writable/);
    assert.match(asPrimary.problems.join('\n'), /db1 holds data \(5 row/);
    const asReplica = planBootstrap(
      nodes,
      [fresh('db1', { replica: { ...replica, sourceHost: '10.0.0.2' } }), fresh('db2')],
      'db1',
      0,
    );
    assert.match(asReplica.problems.join('\n'), /db1 is configured as a replica of 10.0.0.2:3306/);
  });

  test('an unknown or unreachable node is refused', () => {
    assert.match(planBootstrap(nodes, [fresh('db1'), fresh('db2')], 'db9', 0).problems[0], /unknown node "db9"/);
    const down = { ...fresh('db1'), reachable: false, error: 'connect ECONNREFUSED' };
    assert.match(
      planBootstrap(nodes, [down, fresh('db2')], 'db1', 0).problems[0],
      /db1 is unreachable \(connect ECONNREFUSED\)/,
    );
  });
});
