import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeStatus, ReplicaThreads } from '../../common/db/node-status';
import { planReopen } from './reopen-plan';

const nodes = [
  { name: 'db1', url: 'mysql://app:pw@10.0.0.1:3306/hyperstatic' },
  { name: 'db2', url: 'mysql://app:pw@10.0.0.2:3306/hyperstatic' },
];
const topology = { primary: 'db1', epoch: 4, promotedAtGtid: '0-1-1', updatedAt: 0 };
const followsDb1: ReplicaThreads = {
  sourceHost: '10.0.0.1',
  sourcePort: 3306,
  ioRunning: false,
  sqlRunning: true,
  secondsBehind: null,
  lastError: '',
  receivedGtid: '0-1-20',
};

/** db1 restarted (fenced) at 0-1-20; db2 its replica with everything db1 wrote. */
function cluster(db1: Partial<NodeStatus> = {}, db2: Partial<NodeStatus> = {}): NodeStatus[] {
  return [
    {
      name: 'db1',
      host: '10.0.0.1',
      port: 3306,
      reachable: true,
      readOnly: true,
      serverId: 1,
      binlogGtid: '0-1-20',
      topology,
      ...db1,
    },
    {
      name: 'db2',
      host: '10.0.0.2',
      port: 3306,
      reachable: true,
      readOnly: true,
      currentGtid: '0-1-20',
      replica: followsDb1,
      semiSync: { sourceEnabled: false, sourceActive: false, clients: 0, replicaEnabled: true },
      topology,
      ...db2,
    },
  ];
}

describe('whether db reopen may open the recorded primary again', () => {
  test('the fenced recorded primary whose replica holds nothing more is reopened, semi-sync on', () => {
    const plan = planReopen(nodes, cluster(), 'db1');
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(plan.replicas, ['db2']);
    assert.equal(plan.semiSync, true);
    assert.equal(plan.epoch, 4);
  });

  test('a replica holding transactions the primary lacks refuses: they were written elsewhere', () => {
    const plan = planReopen(
      nodes,
      cluster({}, { currentGtid: '0-2-21', replica: { ...followsDb1, receivedGtid: '0-2-21' } }),
      'db1',
    );
    assert.match(plan.problems.join('\n'), /db2 holds 0-2-21, which db1 \(0-1-20\) did not write/);
  });

  test('a replica whose history diverged at the same position, or holds a foreign write behind it, refuses', () => {
    const same = planReopen(
      nodes,
      cluster({}, { currentGtid: '0-2-20', replica: { ...followsDb1, receivedGtid: '0-2-20' } }),
      'db1',
    );
    assert.match(same.problems.join('\n'), /db2 holds 0-2-20, which db1 \(0-1-20\) did not write/);
    const behind = planReopen(
      nodes,
      cluster({}, { currentGtid: '0-2-5', replica: { ...followsDb1, receivedGtid: '0-2-5' } }),
      'db1',
    );
    assert.match(behind.problems.join('\n'), /db2 holds 0-2-5/);
  });

  test('a node that is not the recorded primary, a writable node, or a writable primary refuses', () => {
    assert.match(
      planReopen(nodes, cluster(), 'db2').problems.join('\n'),
      /db2 is not the primary: the record names db1/,
    );
    assert.match(planReopen(nodes, cluster({}, { readOnly: false }), 'db1').problems.join('\n'), /db2 is writable/);
    assert.match(planReopen(nodes, cluster({ readOnly: false }), 'db1').problems.join('\n'), /db1 is writable already/);
  });

  test('no record at all points to db bootstrap; an unreachable node refuses unless ignored', () => {
    const bare = cluster({ topology: undefined }, { topology: undefined });
    assert.match(planReopen(nodes, bare, 'db1').problems.join('\n'), /db bootstrap db1/);
    const down = cluster({}, { reachable: false, error: 'ECONNREFUSED' });
    assert.match(planReopen(nodes, down, 'db1').problems.join('\n'), /db2 cannot be asked/);
    const ignored = planReopen(nodes, down, 'db1', { ignoreUnreachable: true });
    assert.deepEqual(ignored.problems, []);
    assert.match(ignored.warnings.join('\n'), /db2 cannot be asked/);
    assert.equal(ignored.semiSync, false, 'no replica seen, so no acknowledgement to wait for');
  });
});
