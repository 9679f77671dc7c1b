import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queuedSummary, summarize } from './propagation';

describe('propagation summary', () => {
  it('summarizes propagation the way editors read it', () => {
    assert.equal(summarize('queued', 5, null, 0), 'saved; waiting for the renderer');
    assert.equal(summarize('rendered', null, [], 0), 'not on the public site (never published)');
    assert.equal(summarize('rendered', 7, null, 0), 'rendered; no mirror has reported its status');
    const mirrors = [
      { name: 'a', live: true, state: 'live' as const, lagSeconds: 0, reporting: true },
      { name: 'b', live: true, state: 'live' as const, lagSeconds: 0, reporting: true },
      { name: 'c', live: false, state: 'lagging' as const, lagSeconds: 14, reporting: true },
    ];
    assert.equal(summarize('rendered', 7, mirrors, 2), 'live on 2/3 mirrors, 1 lagging 14 s');
    assert.equal(summarize('rendered', 8, mirrors, 2, 'gone'), 'removed (410) on 2/3 mirrors, 1 lagging 14 s');
  });

  it('says a save waiting for the renderer is queued, behind how many saves, rather than lagging', () => {
    assert.equal(queuedSummary(3, { waitingSaves: 1, oldestSeconds: 3.2 }), 'saved; queued 3 s for the renderer');
    assert.equal(queuedSummary(0, null), 'saved; queued 0 s for the renderer');
    assert.equal(
      queuedSummary(12, { waitingSaves: 340, oldestSeconds: 15.4 }),
      'saved; queued 12 s: 340 saves wait to be rendered, the oldest for 15 s',
    );
  });
});
