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

describe('apply pipeline', () => {
  test("applies batches in feed order even when a later batch's blobs arrive first", async () => {
    const fetches = new Map<number, ReturnType<typeof deferred>>();
    const applied: number[] = [];
    let cursor = 0;
    const p = createApplyPipeline({
      window: 8,
      fetchBlobs: (b) => {
        const d = deferred();
        fetches.set(b.batch, d);
        return d.promise;
      },
      apply: (b) => {
        applied.push(b.batch);
        cursor = b.entries[b.entries.length - 1].seq;
      },
      appliedCursor: () => cursor,
      onFailure: (e) => assert.fail(e),
    });
    await p.push(batch(1, 2), 'o');
    await p.push(batch(3), 'o');
    fetches.get(3)!.resolve();
    await tick();
    assert.deepEqual(applied, [], 'batch 3 waits for batch 1');
    fetches.get(1)!.resolve();
    await tick();
    await tick();
    assert.deepEqual(applied, [1, 3]);
    assert.equal(cursor, 3);
  });

  test('a batch that cannot be fetched drops the queue and asks the feed to resume from the applied cursor', async () => {
    const fetches = new Map<number, ReturnType<typeof deferred>>();
    const failures: Error[] = [];
    let cursor = 0;
    const p = createApplyPipeline({
      window: 8,
      fetchBlobs: (b) => {
        const d = deferred();
        fetches.set(b.batch, d);
        return d.promise;
      },
      apply: (b) => {
        cursor = b.entries[b.entries.length - 1].seq;
      },
      appliedCursor: () => cursor,
      onFailure: (e) => failures.push(e),
    });
    await p.push(batch(1), 'o');
    await p.push(batch(2), 'o');
    fetches.get(2)!.resolve();
    fetches.get(1)!.reject(new Error('blob unavailable'));
    await tick();
    await tick();
    assert.equal(failures.length, 1);
    assert.equal(cursor, 0, 'batch 2 is not applied over the missing batch 1');
    assert.equal(p.pending(), 0);
    // The resumed feed starts again after the cursor.
    await p.push(batch(1), 'o');
    fetches.get(1)!.resolve();
    await tick();
    await tick();
    assert.equal(cursor, 1);
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
    const fetches = new Map<number, ReturnType<typeof deferred>>();
    const applied: number[] = [];
    let cursor = 0;
    const p = createApplyPipeline({
      window: 8,
      fetchBlobs: (b) => {
        const d = deferred();
        fetches.set(b.batch, d);
        return d.promise;
      },
      apply: (b) => {
        applied.push(b.batch);
        cursor = b.entries[b.entries.length - 1].seq;
      },
      appliedCursor: () => cursor,
      onFailure: (e) => assert.fail(e),
    });
    await p.push(batch(1), 'o');
    await p.push(batch(2), 'o');
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await tick();
    assert.equal(closed, false, 'the drain loop still waits on batch 1');
    fetches.get(1)!.resolve();
    fetches.get(2)!.resolve();
    await closing;
    assert.deepEqual(applied, [], 'nothing is applied after close() (the store is about to close)');
    await p.push(batch(3), 'o');
    await tick();
    assert.deepEqual(applied, []);
    assert.equal(p.pending(), 0);
  });
  test('dropQueued() forgets batches taken but not applied: the same sequence numbers are taken again', async () => {
    const fetches = new Map<string, ReturnType<typeof deferred>>();
    const applied: string[] = [];
    let cursor = 0;
    const p = createApplyPipeline({
      window: 8,
      fetchBlobs: (b, source) => {
        const d = deferred();
        fetches.set(`${source}:${b.batch}`, d);
        return d.promise;
      },
      apply: (b, source) => {
        applied.push(`${source}:${b.batch}`);
        cursor = b.entries[b.entries.length - 1].seq;
      },
      appliedCursor: () => cursor,
      onFailure: (e) => assert.fail(e),
    });
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
