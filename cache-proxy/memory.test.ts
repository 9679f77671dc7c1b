import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createReclaimer } from './memory';

describe('reclaiming dropped bodies', () => {
  it('starts one full collection per threshold of dropped bytes, after the current request', async () => {
    const reclaimer = createReclaimer(1000);
    reclaimer.released(600);
    await nextTurn();
    assert.equal(reclaimer.collections, 0);
    reclaimer.released(600);
    // Not from inside lru-cache's dispose: on the next turn of the event loop.
    assert.equal(reclaimer.collections, 0);
    reclaimer.released(5000);
    await nextTurn();
    assert.equal(reclaimer.collections, 1);
    reclaimer.released(999);
    await nextTurn();
    assert.equal(reclaimer.collections, 1);
    reclaimer.released(1);
    await nextTurn();
    assert.equal(reclaimer.collections, 2);
  });

  it('leaves collection to V8 when the threshold is 0', async () => {
    const reclaimer = createReclaimer(0);
    reclaimer.released(1 << 30);
    await nextTurn();
    assert.equal(reclaimer.collections, 0);
  });
});
