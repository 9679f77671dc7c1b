import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FeedBatch } from '../common/feed-format';
import { createApplyPipeline } from './apply-pipeline';
import { OutOfOrderBatchError } from './errors';

function batch(first: number, count = 1): FeedBatch {
  const entries = Array.from({ length: count }, (_, i) => ({
    seq: first + i,
    epoch: 1,
    batch: first,
    path: `/p${first + i}/`,
    op: 'put' as const,
    sha256: 'a'.repeat(64),
    size: 1,
    contentType: 'text/html',
    lastModified: 0,
    kind: 'article' as const,
  }));
  return { epoch: 1, batch: first, entries };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A pipeline whose blob fetches the test settles by hand (`fetches`, keyed
 * by source and batch number) and which records what it applies.
 */
function pipelineUnderTest(onFailure: (e: Error) => void = (e) => assert.fail(e)) {
  const fetches = new Map<string, ReturnType<typeof deferred>>();
  const applied: string[] = [];
  const state = { cursor: 0 };
  const pipeline = createApplyPipeline({
    window: 8,
    fetchBlobs: (b, source) => {
      const d = deferred();
      fetches.set(`${source}:${b.batch}`, d);
      return d.promise;
    },
    apply: (b, source) => {
      applied.push(`${source}:${b.batch}`);
      state.cursor = b.entries[b.entries.length - 1].seq;
    },
    appliedCursor: () => state.cursor,
    onFailure,
  });
  return { pipeline, fetches, applied, state };
}

describe('apply pipeline', () => {
  test("applies batches in feed order even when a later batch's blobs arrive first", async () => {
    const { pipeline: p, fetches, applied, state } = pipelineUnderTest();
    await p.push(batch(1, 2), 'o');
    await p.push(batch(3), 'o');
    fetches.get('o:3')!.resolve();
    await tick();
    assert.deepEqual(applied, [], 'batch 3 waits for batch 1');
    fetches.get('o:1')!.resolve();
    await tick();
    await tick();
    assert.deepEqual(applied, ['o:1', 'o:3']);
    assert.equal(state.cursor, 3);
  });

  test('a batch that cannot be fetched drops the queue and asks the feed to resume from the applied cursor', async () => {
    const failures: Error[] = [];
    const { pipeline: p, fetches, state } = pipelineUnderTest((e) => failures.push(e));
    await p.push(batch(1), 'o');
    await p.push(batch(2), 'o');
    fetches.get('o:2')!.resolve();
    fetches.get('o:1')!.reject(new Error('blob unavailable'));
    await tick();
    await tick();
    assert.equal(failures.length, 1);
    assert.equal(state.cursor, 0, 'batch 2 is not applied over the missing batch 1');
    assert.equal(p.pending(), 0);
    // The resumed feed starts again after the cursor.
    await p.push(batch(1), 'o');
    fetches.get('o:1')!.resolve();
    await tick();
    await tick();
    assert.equal(state.cursor, 1);
  });

  test('refuses a gap, skips what is already queued, and holds the feed while the window is full', async () => {
    const d = deferred();
    let cursor = 0;
    const p = createApplyPipeline({
      window: 2,
      fetchBlobs: () => d.promise,
      apply: (b) => {
        cursor = b.entries[b.entries.length - 1].seq;
      },
      appliedCursor: () => cursor,
      onFailure: (e) => assert.fail(e),
    });
    await p.push(batch(1), 'o');
    await assert.rejects(p.push(batch(3), 'o'), OutOfOrderBatchError);
    await p.push(batch(1), 'o');
    assert.equal(p.pending(), 1, 'a resent batch is not queued twice');
    let admitted = false;
    const third = p.push(batch(2), 'o').then(() => (admitted = true));
    await tick();
    assert.equal(admitted, false, 'the window of 2 is full');
    d.resolve();
    await third;
    assert.equal(cursor >= 1, true);
  });
  test('close() drops what is queued and resolves only once no batch is being applied', async () => {
    const { pipeline: p, fetches, applied } = pipelineUnderTest();
    await p.push(batch(1), 'o');
    await p.push(batch(2), 'o');
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await tick();
    assert.equal(closed, false, 'the drain loop still waits on batch 1');
    fetches.get('o:1')!.resolve();
    fetches.get('o:2')!.resolve();
    await closing;
    assert.deepEqual(applied, [], 'nothing is applied after close() (the store is about to close)');
    await p.push(batch(3), 'o');
    await tick();
    assert.deepEqual(applied, []);
    assert.equal(p.pending(), 0);
  });
  test('dropQueued() forgets batches taken but not applied: the same sequence numbers are taken again', async () => {
    const { pipeline: p, fetches, applied } = pipelineUnderTest();
    await p.push(batch(1), 'deposed');
    await p.push(batch(2), 'deposed');
    p.dropQueued();
    await p.push(batch(1), 'promoted');
    fetches.get('deposed:1')!.resolve();
    fetches.get('deposed:2')!.resolve();
    fetches.get('promoted:1')!.resolve();
    await tick();
    await tick();
    assert.deepEqual(applied, ['promoted:1'], "the deposed source's batches are never applied");
  });
});
