// Blobs are in place only once their bytes hash to their name.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { sha256Hex } from '../common/hash';
import { BlobMismatchError } from './errors';
import { closeOpenedStores, openStore } from '../test/support/mirror-store-fixtures';

afterEach(closeOpenedStores);

describe('BlobStore (through MirrorStore)', () => {
  test('writeBlob keeps nothing when the bytes do not match the name or overrun the size', async () => {
    const store = openStore();
    const sha = sha256Hex('expected');
    await assert.rejects(store.writeBlob(sha, [Buffer.from('something else')]), BlobMismatchError);
    await assert.rejects(store.writeBlob(sha, [Buffer.from('expected'), Buffer.from('!')], 8), BlobMismatchError);
    assert.equal(store.hasBlob(sha), false);
    assert.deepEqual(fs.readdirSync(path.join(store.dir, 'blobs', 'tmp')), []);
    await store.writeBlob(sha, [Buffer.from('expe'), Buffer.from('cted')], 8);
    assert.equal(store.hasBlob(sha), true);
    assert.equal(store.blobPath(sha), path.join(store.dir, 'blobs', sha.slice(0, 2), sha));
  });
});
