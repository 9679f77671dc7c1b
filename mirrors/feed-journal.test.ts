// The journal the mirror relays as its own /feed.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { batch, closeOpenedStores, entry, openStore, putBlob } from '../test/support/mirror-store-fixtures';

afterEach(closeOpenedStores);

describe('FeedJournal (through MirrorStore)', () => {
  test('rebuilds whole batches from the journal, in order and bounded', async () => {
    const store = openStore();
    await putBlob(store, 'A');
    const b1 = batch(1, [entry(1, '/a/', 'A'), entry(2, '/', 'A')]);
    const b2 = batch(2, [entry(3, '/b/', 'A')]);
    const b3 = batch(3, [entry(4, '/c/', 'A'), entry(5, '/', 'A')]);
    for (const b of [b1, b2, b3]) store.applyBatch(b);
    assert.deepEqual(store.batchesAfter(0, 10), [b1, b2, b3]);
    assert.deepEqual(store.batchesAfter(0, 2), [b1, b2]);
    assert.deepEqual(store.batchesAfter(2, 10), [b2, b3]);
    assert.deepEqual(store.batchesAfter(5, 10), []);
  });

  test('keeps the site signature of each batch and tells the highest epoch a key signed at', async () => {
    const store = openStore();
    await putBlob(store, 'A');
    const signature = (key: string, at: number) => ({ key, at, sig: 'x'.repeat(88) });
    const keyA = Buffer.alloc(32, 1).toString('base64');
    const keyB = Buffer.alloc(32, 2).toString('base64');
    const b1 = { ...batch(1, [entry(1, '/a/', 'A')]), signature: signature(keyA, 1) };
    const b2 = { ...batch(2, [entry(2, '/b/', 'A')]), signature: signature(keyA, 1) };
    store.applyBatch(b1);
    store.applyBatch(b2);
    assert.deepEqual(
      store.batchesAfter(0, 10).map((b) => b.signature),
      [b1.signature, b2.signature],
    );
    assert.equal(store.highestEpochSignedBy(keyA), 1);
    assert.equal(store.highestEpochSignedBy(keyB), undefined);
  });
});
