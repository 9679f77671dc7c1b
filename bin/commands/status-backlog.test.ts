import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineScrapes, renderQueueText } from './status-backlog';

describe('render queue figures in status', () => {
  it('takes the shared queue depth once and sums saves and pages over producers', () => {
    const figures = combineScrapes([
      { depth: 7 }, // an app: the queue, no render counters
      { depth: 6, saves: 10, pages: 40 },
      { depth: 7, saves: 30, pages: 50 },
      undefined, // a producer that did not answer
    ]);
    assert.deepEqual(figures, { renderJobs: 7, savesRendered: 40, pagesJournaled: 90, pagesPerSave: 2.25 });
    assert.equal(renderQueueText(figures), 'render queue 7 job(s); 2.25 pages journaled per save (40 saves rendered)');
  });

  it('says nothing about pages per save before a save is rendered, and when no process answers', () => {
    assert.deepEqual(combineScrapes([{ depth: 0, saves: 0, pages: 0 }]), {
      renderJobs: 0,
      savesRendered: 0,
      pagesJournaled: 0,
      pagesPerSave: null,
    });
    const none = combineScrapes([undefined]);
    assert.deepEqual(none, { renderJobs: null, savesRendered: null, pagesJournaled: null, pagesPerSave: null });
    assert.equal(renderQueueText(none), 'render queue not reported');
  });
});
