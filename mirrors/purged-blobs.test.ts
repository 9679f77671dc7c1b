// Applying a takedown's `purge` entries on a mirror: the file goes unless a
// live path still serves it, the purge is remembered, the relay journal no
// longer names the old body, and a later signed put of the same bytes lifts it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { BLOB_PATH, type JournalEntry } from '../common/feed-format';
import { sha256Hex } from '../common/hash';
import { batch, closeOpenedStores, entry, openStore, putBlob } from '../test/support/mirror-store-fixtures';

afterEach(closeOpenedStores);

function purge(seq: number, body: string): JournalEntry {
  const sha256 = sha256Hex(body);
  return { ...entry(seq, `${BLOB_PATH}${sha256}`, null), op: 'purge', sha256, size: 0, contentType: '' };
}

describe('purge entries on a mirror', () => {
  test('drop the old body, remember it, keep the tombstone, and cut the relay journal before it', async () => {
    const store = openStore();
    for (const body of ['OLD', 'GONE', 'HOME']) await putBlob(store, body);
    store.applyBatch(batch(1, [entry(1, '/news/x', 'OLD'), entry(2, '/', 'HOME', { kind: 'index' })]));
    store.applyBatch(batch(3, [{ ...entry(3, '/news/x', 'GONE'), op: 'gone' }, purge(4, 'OLD')]));

    const old = sha256Hex('OLD');
    assert.equal(fs.existsSync(store.blobPath(old)), false, 'the file is gone');
    assert.equal(store.isPurged(old), true);
    assert.equal(store.lookup('/news/x')?.op, 'gone');
    assert.equal(store.lookup(`${BLOB_PATH}${old}`), undefined, 'a purge is not a page');
    const relayed = store.batchesAfter(0, 100).flatMap((b) => b.entries);
    assert.deepEqual(
      relayed.map((e) => [e.seq, e.op]),
      [
        [3, 'gone'],
        [4, 'purge'],
      ],
      'batches up to the last one that named the old body are cut; the purge is relayed',
    );
  });

  test('keep the file while a live path of this mirror still serves those bytes', async () => {
    const store = openStore();
    await putBlob(store, 'SHARED');
    store.applyBatch(batch(1, [entry(1, '/news/a', 'SHARED'), entry(2, '/news/b', 'SHARED')]));
    store.applyBatch(batch(3, [entry(3, '/news/a', null), purge(4, 'SHARED')]));
    assert.equal(fs.existsSync(store.blobPath(sha256Hex('SHARED'))), true);
    assert.equal(store.isPurged(sha256Hex('SHARED')), true, 'not served at /blobs/SHA all the same');
  });

  test('a later put of the same bytes (published again) lifts the purge', async () => {
    const store = openStore();
    await putBlob(store, 'BACK');
    store.applyBatch(batch(1, [entry(1, '/news/x', 'BACK')]));
    store.applyBatch(batch(2, [entry(2, '/news/x', null), purge(3, 'BACK')]));
    await putBlob(store, 'BACK');
    store.applyBatch(batch(4, [entry(4, '/news/x', 'BACK')]));
    assert.equal(store.isPurged(sha256Hex('BACK')), false);
    assert.equal(store.lookup('/news/x')?.sha256, sha256Hex('BACK'));
  });

  test('need no blob on disk to apply', () => {
    const store = openStore();
    assert.deepEqual(store.missingBlobs(batch(1, [purge(1, 'NEVER-HERE')])), []);
    store.applyBatch(batch(1, [purge(1, 'NEVER-HERE')]));
    assert.equal(store.cursor(), 1);
  });
});
