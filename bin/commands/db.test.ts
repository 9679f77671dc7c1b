import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterAccess } from '../../app/db/promote';
import type { NodeStatus } from '../../common/db/node-status';
import { nodeRows, nodeTable } from './db';

const access: ClusterAccess = {
  nodes: [
    { name: 'a', url: 'mysql://app@a:3306/site' },
    { name: 'b', url: 'mysql://app@b:3306/site' },
    { name: 'c', url: 'mysql://app@c:3306/site' },
  ],
  admin: { user: 'root', password: '' },
  replication: { user: 'repl', password: '' },
};
const record = { primary: 'b', epoch: 3, promotedAtGtid: '0-2-10', updatedAt: 1 };

const statuses: NodeStatus[] = [
  {
    name: 'a',
    host: 'a',
    port: 3306,
    reachable: true,
    readOnly: true,
    currentGtid: '0-2-40',
    epoch: 2,
    topology: { ...record, primary: 'a', epoch: 2 },
    replica: {
      sourceHost: 'b',
      sourcePort: 3306,
      ioRunning: true,
      sqlRunning: false,
      secondsBehind: 4,
      lastError: '',
      receivedGtid: '0-2-42',
    },
    semiSync: { sourceEnabled: false, sourceActive: false, clients: 0, replicaEnabled: true },
  },
  {
    name: 'b',
    host: 'b',
    port: 3306,
    reachable: true,
    readOnly: false,
    currentGtid: '0-2-42',
    epoch: 3,
    topology: record,
    semiSync: { sourceEnabled: true, sourceActive: false, clients: 1, replicaEnabled: false },
  },
  { name: 'c', host: 'c', port: 3306, reachable: false, error: 'connect ECONNREFUSED' },
];

describe('db status rows', () => {
  it('takes the primary and epoch from the newest topology record, not the first node listed', () => {
    const view = nodeRows(access, statuses);
    assert.equal(view.primary, 'b');
    assert.equal(view.epoch, 3);
    assert.deepEqual(
      view.nodes.map((n) => n.role),
      ['replica', 'primary', 'unreachable'],
    );
  });

  it("describes a replica's threads, lag, received position and semi-sync state", () => {
    const [a, b, c] = nodeRows(access, statuses).nodes;
    assert.equal(a.replicating, 'IO=Yes SQL=No from b:3306');
    assert.equal(a.lagSeconds, 4);
    assert.equal(a.gtidCurrent, '0-2-40');
    assert.equal(a.gtidReceived, '0-2-42', 'what it received but has not applied counts as held');
    assert.equal(a.semiSync, 'replica ON');
    assert.equal(b.semiSync, 'source OFF (fell back to async), 1 replica(s)');
    assert.equal(b.lagSeconds, 0);
    assert.equal(b.replicating, null);
    assert.deepEqual(
      [c.readOnly, c.gtidCurrent, c.gtidReceived, c.lagSeconds, c.epoch, c.error],
      [null, null, null, null, null, 'connect ECONNREFUSED'],
    );
  });

  it('prints a table with "-" for what an unreachable node cannot say, and its error', () => {
    const lines = nodeTable(nodeRows(access, statuses).nodes).split('\n');
    assert.match(
      lines[0],
      /^NODE\s+ROLE\s+READ_ONLY\s+GTID \(applied\)\s+GTID \(received\)\s+LAG s\s+SEMI-SYNC\s+EPOCH/,
    );
    assert.match(lines[1], /^-+ {2}-+/);
    assert.match(lines[2], /^a\s+replica\s+ON\s+0-2-40\s+0-2-42\s+4\s+replica ON\s+2\s+IO=Yes SQL=No from b:3306$/);
    assert.match(lines[3], /^b\s+primary\s+OFF\s+0-2-42\s+0-2-42\s+0\s+source OFF/);
    assert.match(lines[4], /^c\s+unreachable\s+-\s+-\s+-\s+-\s+-\s+-\s+connect ECONNREFUSED$/);
  });
});
