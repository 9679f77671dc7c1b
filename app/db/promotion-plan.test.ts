// The promotion and rejoin safety checks on plain snapshots: no server needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gtidConflicts, gtidContains, parseGtidPosition } from '../../common/db/gtid';
import type { NodeStatus } from '../../common/db/node-status';
import { planPromotion, planRejoin } from './promotion-plan';
import type { NodeSpec } from '../../common/db/topology';

const nodes: NodeSpec[] = ['db1', 'db2', 'db3'].map((name, i) => ({
  name,
  url: `mysql://app:pw@10.0.0.${i + 1}:3306/hs`,
}));

function primary(gtid: string, extra: Partial<NodeStatus> = {}): NodeStatus {
  return {
    name: 'db1',
    host: '10.0.0.1',
    port: 3306,
    reachable: true,
    serverId: 1,
    readOnly: false,
    currentGtid: gtid,
    binlogGtid: gtid,
    epoch: 1,
    ...extra,
  };
}

function replica(name: string, applied: string, received = applied, extra: Partial<NodeStatus> = {}): NodeStatus {
  return {
    name,
    host: '10.0.0.9',
    port: 3306,
    reachable: true,
    serverId: Number(name.slice(2)),
    readOnly: true,
    currentGtid: applied,
    binlogGtid: applied,
    replica: {
      sourceHost: '10.0.0.1',
      sourcePort: 3306,
      ioRunning: true,
      sqlRunning: true,
      secondsBehind: 0,
      lastError: '',
      receivedGtid: received,
    },
    epoch: 1,
    ...extra,
  };
}

const dead = (name: string): NodeStatus => ({
  name,
  host: '10.0.0.1',
  port: 3306,
  reachable: false,
  error: 'connect ECONNREFUSED',
});

describe('GTID positions', () => {
  test('containment is per domain and by sequence number', () => {
    assert.ok(gtidContains(parseGtidPosition('0-1-10,1-5-3'), parseGtidPosition('0-2-9')));
    assert.ok(!gtidContains(parseGtidPosition('0-1-10'), parseGtidPosition('0-1-10,1-5-3')));
    assert.ok(gtidContains(parseGtidPosition(''), parseGtidPosition('')));
  });
  test('the same sequence number from two servers is a conflict', () => {
    assert.deepEqual(gtidConflicts(parseGtidPosition('0-1-10'), parseGtidPosition('0-2-10')).length, 1);
    assert.deepEqual(gtidConflicts(parseGtidPosition('0-1-10'), parseGtidPosition('0-2-11')), []);
  });
  test('rejects text that is not a GTID list', () => {
    assert.throws(() => parseGtidPosition('0-1'), /not a MariaDB GTID/);
  });
});

describe('planning a promotion', () => {
  test('a caught-up replica of a live primary is safe: fence, catch up, record, repoint, open', () => {
    const plan = planPromotion(nodes, [primary('0-1-100'), replica('db2', '0-1-100'), replica('db3', '0-1-98')], 'db2');
    assert.deepEqual(plan.problems, []);
    assert.equal(plan.oldPrimary, 'db1');
    assert.equal(plan.newEpoch, 2);
    assert.deepEqual(plan.repoint, ['db3', 'db1']);
    assert.match(plan.steps[0], /fence db1/);
  });

  test('refuses an unknown node, the primary itself and an unreachable node', () => {
    const statuses = [primary('0-1-5'), replica('db2', '0-1-5'), dead('db3')];
    assert.match(planPromotion(nodes, statuses, 'db9').problems[0], /unknown node "db9"/);
    assert.match(planPromotion(nodes, statuses, 'db1').problems[0], /already the primary/);
    assert.match(planPromotion(nodes, statuses, 'db3').problems[0], /db3 is unreachable/);
  });

  test('with the primary dead, refuses a replica another replica is ahead of, and names the better one', () => {
    const plan = planPromotion(
      nodes,
      [dead('db1'), replica('db2', '0-1-97', '0-1-98'), replica('db3', '0-1-100')],
      'db2',
    );
    assert.equal(plan.problems.length, 1);
    assert.match(plan.problems[0], /db2 is behind db3.*promote db3 instead/);
    assert.deepEqual(
      planPromotion(nodes, [dead('db1'), replica('db2', '0-1-97', '0-1-98'), replica('db3', '0-1-100')], 'db3')
        .problems,
      [],
    );
  });

  test('with the primary dead, warns that it could not be fenced', () => {
    const plan = planPromotion(nodes, [dead('db1'), replica('db2', '0-1-100'), replica('db3', '0-1-100')], 'db2');
    assert.deepEqual(plan.problems, []);
    assert.ok(plan.warnings.some((w) => /db1 is unreachable.*cannot be fenced/.test(w)));
  });

  test('refuses a replica that received transactions but stopped applying them', () => {
    const stuck = replica('db2', '0-1-90', '0-1-100');
    stuck.replica!.sqlRunning = false;
    stuck.replica!.lastError = 'Duplicate entry';
    const plan = planPromotion(nodes, [dead('db1'), stuck, replica('db3', '0-1-90')], 'db2');
    assert.match(
      plan.problems.join('\n'),
      /db2 is behind: it received 0-1-100 but applied only 0-1-90.*Duplicate entry/,
    );
  });

  test('refuses a replica holding transactions the live primary never wrote (diverged history)', () => {
    const plan = planPromotion(
      nodes,
      [primary('0-1-100'), replica('db2', '0-2-101'), replica('db3', '0-1-100')],
      'db2',
    );
    assert.match(plan.problems.join('\n'), /GTID history diverged/);
  });

  test('refuses when a second node is writable', () => {
    const plan = planPromotion(
      nodes,
      [primary('0-1-100'), replica('db2', '0-1-100'), replica('db3', '0-1-100', '0-1-100', { readOnly: false })],
      'db2',
    );
    assert.match(plan.problems.join('\n'), /two writable nodes: db1 and db3/);
  });

  test('the highest epoch among the topology records names the primary', () => {
    const record = { primary: 'db2', epoch: 5, promotedAtGtid: '0-1-100', updatedAt: 0 };
    const stale = { primary: 'db1', epoch: 4, promotedAtGtid: '', updatedAt: 0 };
    const plan = planPromotion(
      nodes,
      [
        primary('0-1-100', { topology: stale }),
        replica('db2', '0-2-120', '0-2-120', { readOnly: false, replica: undefined, topology: record }),
        replica('db3', '0-2-120', '0-2-120', { topology: record }),
      ],
      'db3',
    );
    assert.equal(plan.oldPrimary, 'db2');
    assert.equal(plan.newEpoch, 6);
  });
});

describe('planning a rejoin', () => {
  const record = { primary: 'db2', epoch: 2, promotedAtGtid: '0-1-100', updatedAt: 0 };
  const newPrimary = replica('db2', '0-2-150', '0-2-150', { readOnly: false, replica: undefined, topology: record });

  test('a returned old primary that wrote nothing after the takeover may rejoin', () => {
    const plan = planRejoin(nodes, [primary('0-1-100', { topology: undefined }), newPrimary, dead('db3')], 'db1');
    assert.deepEqual(plan.problems, []);
    assert.equal(plan.primary, 'db2');
  });

  test('a returned old primary with a transaction it wrote after the takeover is refused as diverged', () => {
    const plan = planRejoin(nodes, [primary('0-1-101'), newPrimary, dead('db3')], 'db1');
    assert.match(plan.problems[0], /GTID history diverged.*db1 wrote 0-1-101 itself after db2 took over at 0-1-100/);
  });

  test('a replica that follows the new primary is not mistaken for diverged', () => {
    const plan = planRejoin(nodes, [dead('db1'), newPrimary, replica('db3', '0-2-140')], 'db3');
    assert.deepEqual(plan.problems, []);
  });

  test('refuses the primary itself and an unknown node', () => {
    assert.match(planRejoin(nodes, [dead('db1'), newPrimary, dead('db3')], 'db2').problems[0], /db2 is the primary/);
    assert.match(planRejoin(nodes, [dead('db1'), newPrimary, dead('db3')], 'nope').problems[0], /unknown node/);
  });
});
