import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyncStatus } from './sync-status';

test('lag counts from when the mirror first learned of an unapplied entry and returns to 0 when caught up', () => {
  let now = 1_000_000;
  const sync = new SyncStatus(() => now);
  assert.equal(sync.lagSeconds(), 0);
  sync.sawHead(5, 5, 'http://o');
  assert.equal(sync.lagSeconds(), 0);
  sync.sawHead(7, 5, 'http://o');
  now += 3000;
  sync.sawHead(9, 5, 'http://o');
  now += 1000;
  assert.equal(sync.lagSeconds(), 4);
  sync.applied(7);
  assert.equal(sync.lagSeconds(), 4, 'still behind head 9');
  sync.applied(9);
  assert.equal(sync.lagSeconds(), 0);
});

test('a feed failure is reported until the next applied batch', () => {
  const sync = new SyncStatus(() => 0);
  sync.sawHead(1, 0, 'http://o');
  sync.failed(new Error('connection refused'));
  assert.deepEqual(sync.snapshot(0, 0), {
    cursor: 0,
    epoch: 0,
    head: 1,
    lagSeconds: 0,
    connected: false,
    source: 'http://o',
    lastError: 'connection refused',
  });
  sync.applied(1);
  assert.equal(sync.snapshot(1, 0).lastError, null);
});
