import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from './propagation';

describe('propagation summary', () => {
  it('summarizes propagation the way editors read it', () => {
    assert.equal(summarize('queued', 5, null, 0), 'saved; waiting for the renderer');
    assert.equal(summarize('rendered', null, [], 0), 'not on the public site (never published)');
    assert.equal(summarize('rendered', 7, null, 0), 'rendered; no mirror has reported its status');
    const mirrors = [
      { name: 'a', live: true, lagSeconds: 0, reporting: true },
      { name: 'b', live: true, lagSeconds: 0, reporting: true },
      { name: 'c', live: false, lagSeconds: 14, reporting: true },
    ];
    assert.equal(summarize('rendered', 7, mirrors, 2), 'live on 2/3 mirrors, 1 lagging 14 s');
    assert.equal(summarize('rendered', 8, mirrors, 2, 'gone'), 'removed (410) on 2/3 mirrors, 1 lagging 14 s');
  });
});
