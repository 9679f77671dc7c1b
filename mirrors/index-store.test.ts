// The index: applying batches in order, atomically, and only with their blobs on disk.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { sha256Hex } from '../common/hash';
import { MissingBlobError, OutOfOrderBatchError, StaleEpochBatchError } from './errors';
import {
  batch,
  closeOpenedStores,
  entry,
  openStore,
  putBlob,
  tempStoreDir,
} from '../test/support/mirror-store-fixtures';

afterEach(closeOpenedStores);

describe('IndexStore (through MirrorStore)', () => {
  test('starts empty at cursor 0, epoch 0', () => {
    const store = openStore();
    assert.deepEqual(store.state(), { cursor: 0, epoch: 0 });
    assert.equal(store.lookup('/'), undefined);
  });

  test('applies a batch whose blobs are present and keeps it across reopen', async () => {
    const dir = tempStoreDir();
    const store = openStore(dir);
    await putBlob(store, 'A');
    await putBlob(store, 'H');
    store.applyBatch(batch(1, [entry(1, '/a/', 'A'), entry(2, '/', 'H', { kind: 'index' })]));
    assert.equal(store.cursor(), 2);
    store.close();
    const again = openStore(dir);
    assert.deepEqual(again.state(), { cursor: 2, epoch: 1 });
    assert.equal(again.lookup('/')?.kind, 'index');
    assert.equal(again.lookup('/a/')?.sha256, sha256Hex('A'));
    assert.equal(fs.readFileSync(again.blobPath(sha256Hex('A')), 'utf8'), 'A');
  });

  test('refuses a batch with a missing blob and changes nothing', async () => {
    const store = openStore();
    await putBlob(store, 'H');
    assert.throws(() => store.applyBatch(batch(1, [entry(1, '/a/', 'A'), entry(2, '/', 'H')])), MissingBlobError);
    assert.equal(store.cursor(), 0);
    assert.equal(store.lookup('/'), undefined);
    assert.deepEqual(store.batchesAfter(0, 10), []);
  });

  test('refuses an out-of-order or replayed batch', async () => {
    const store = openStore();
    await putBlob(store, 'A');
    store.applyBatch(batch(1, [entry(1, '/a/', 'A'), entry(2, '/x/', 'A'), entry(3, '/y/', 'A')]));
    assert.throws(() => store.applyBatch(batch(2, [entry(2, '/b/', 'A')])), OutOfOrderBatchError);
    assert.throws(() => store.applyBatch(batch(1, [entry(1, '/a/', 'A')])), OutOfOrderBatchError);
    assert.equal(store.cursor(), 3);
    assert.equal(store.lookup('/b/'), undefined);
  });

  test('refuses a batch that skips sequence numbers (one dropped on the way)', async () => {
    const store = openStore();
    await putBlob(store, 'A');
    store.applyBatch(batch(1, [entry(1, '/a/', 'A')]));
    assert.throws(() => store.applyBatch(batch(3, [entry(3, '/c/', 'A')])), OutOfOrderBatchError);
    assert.equal(store.lookup('/c/'), undefined);
    store.applyBatch(batch(2, [entry(2, '/b/', 'A')]));
    assert.equal(store.cursor(), 2);
  });

  test('refuses a batch from an older epoch', async () => {
    const store = openStore();
    await putBlob(store, 'A');
    store.applyBatch(batch(1, [entry(1, '/a/', 'A')], 3));
    assert.throws(() => store.applyBatch(batch(2, [entry(2, '/b/', 'A')], 2)), StaleEpochBatchError);
    store.applyBatch(batch(2, [entry(2, '/b/', 'A')], 4));
    assert.deepEqual(store.state(), { cursor: 2, epoch: 4 });
  });

  test('delete forgets a path; gone keeps it with its tombstone', async () => {
    const store = openStore();
    await putBlob(store, 'A');
    await putBlob(store, 'T');
    store.applyBatch(batch(1, [entry(1, '/a/', 'A'), entry(2, '/b/', 'A')]));
    store.applyBatch(batch(2, [entry(3, '/a/', null), { ...entry(4, '/b/', 'T'), op: 'gone' }]));
    assert.equal(store.lookup('/a/'), undefined);
    assert.equal(store.lookup('/b/')?.op, 'gone');
    assert.equal(store.lookup('/b/')?.sha256, sha256Hex('T'));
  });
  test('names the committed cursor as the served position, moving with each batch and never with a refused one', async () => {
    const store = openStore();
    assert.equal(store.servedPosition(), 0);
    await putBlob(store, 'A');
    store.applyBatch(batch(1, [entry(1, '/a/', 'A'), entry(2, '/b/', 'A')]));
    assert.equal(store.servedPosition(), 2);
    // Its blob is missing: the batch is refused whole, and the position stays.
    assert.throws(() => store.applyBatch(batch(2, [entry(3, '/c/', 'C')])), MissingBlobError);
    assert.equal(store.servedPosition(), 2);
    store.applyBatch(batch(2, [entry(3, '/a/', null)]));
    assert.equal(store.servedPosition(), 3);
  });
});
