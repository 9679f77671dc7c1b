import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BURST_IDLE_MS, paceDecision, type PaceOptions, type Waiting } from './burst-pacing';

const options: PaceOptions = { afterGroup: false, maxItems: 200, waitMs: 1500, waitedMs: 0, quietMs: 0 };
const waiting = (w: Partial<Waiting>): Waiting => ({ free: 1, claimed: 0, oldestMs: 0, ...w });

describe('burst pacing', () => {
  it('claims a save in a quiet moment at once', () => {
    assert.equal(paceDecision(waiting({ free: 1 }), options), 'claim');
    assert.equal(paceDecision(waiting({ free: 40 }), options), 'claim', 'a burst already waiting is one group at once');
  });

  it('has nothing to do when no save waits', () => {
    assert.equal(paceDecision(waiting({ free: 0, claimed: 30 }), { ...options, afterGroup: true }), 'none');
  });

  it('waits for a fuller group when saves arrived while this producer rendered its last group', () => {
    assert.equal(paceDecision(waiting({ free: 6, oldestMs: 300 }), { ...options, afterGroup: true }), 'wait');
  });

  it('waits for a fuller group while another producer renders one', () => {
    assert.equal(paceDecision(waiting({ free: 1, claimed: 25 }), options), 'wait');
  });

  it('claims once the group can be full', () => {
    assert.equal(paceDecision(waiting({ free: 200, claimed: 25 }), options), 'claim');
  });

  it('claims once the oldest waiting save has waited the burst wait, by either clock', () => {
    assert.equal(paceDecision(waiting({ free: 6, oldestMs: 1500 }), { ...options, afterGroup: true }), 'claim');
    assert.equal(
      paceDecision(waiting({ free: 6, oldestMs: 0 }), { ...options, afterGroup: true, waitedMs: 1500 }),
      'claim',
      'an app whose clock runs behind cannot make a save wait longer',
    );
  });

  it('claims what waits once no save has arrived for the idle time: the burst is over', () => {
    const after = { ...options, afterGroup: true };
    assert.equal(paceDecision(waiting({ free: 1, oldestMs: 60 }), { ...after, quietMs: BURST_IDLE_MS - 1 }), 'wait');
    assert.equal(
      paceDecision(waiting({ free: 1, oldestMs: 60 }), { ...after, quietMs: BURST_IDLE_MS }),
      'claim',
      'the last save of a scheduled instant does not wait the whole burst wait',
    );
  });

  it('never waits with the burst wait off', () => {
    assert.equal(paceDecision(waiting({ free: 3, claimed: 9 }), { ...options, afterGroup: true, waitMs: 0 }), 'claim');
  });
});
