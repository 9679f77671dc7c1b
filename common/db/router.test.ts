import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routerStateFrom } from './router';

const nodes = [
  { name: 'a', url: 'mysql://app@a/site' },
  { name: 'b', url: 'mysql://app@b/site' },
];
const record = (primary: string, epoch: number) => ({ primary, epoch, promotedAtGtid: '', updatedAt: 0 });

describe('database router: where writes go', () => {
  it('follows the topology record with the highest epoch, whichever node holds it', () => {
    const state = routerStateFrom(nodes, [
      { name: 'a', reachable: true, readOnly: true, record: record('a', 1) },
      { name: 'b', reachable: true, readOnly: false, record: record('b', 2) },
    ]);
    assert.deepEqual([state.primary, state.epoch, state.writable], ['b', 2, true]);
  });

  it('is not writable while the recorded primary is read-only or unreachable (a failover in progress)', () => {
    const fenced = routerStateFrom(nodes, [
      { name: 'a', reachable: true, readOnly: true, record: record('a', 4) },
      { name: 'b', reachable: true, readOnly: false, record: record('a', 4) },
    ]);
    assert.deepEqual([fenced.primary, fenced.writable], ['a', false]);
    const down = routerStateFrom(nodes, [
      { name: 'a', reachable: false },
      { name: 'b', reachable: true, readOnly: true, record: record('a', 4) },
    ]);
    assert.deepEqual([down.primary, down.writable], ['a', false]);
  });

  it('takes the first configured node before any promotion wrote a record', () => {
    const state = routerStateFrom(nodes, [
      { name: 'a', reachable: true, readOnly: false },
      { name: 'b', reachable: true, readOnly: true },
    ]);
    assert.deepEqual([state.primary, state.epoch, state.writable], ['a', 0, true]);
  });
});
