// Interrupted downloads resume from their bytes on disk, and two writers never share a file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { sha256Hex } from '../common/hash';
import { BlobMismatchError } from './errors';
import { closeOpenedStores, openStore, tempStoreDir } from '../test/support/mirror-store-fixtures';

afterEach(closeOpenedStores);

describe('PartialDownloads (through MirrorStore)', () => {
  test('an interrupted download keeps its bytes (also across reopen) and resumes from them; the hash covers the whole file', async () => {
    const dir = tempStoreDir();
    let store = openStore(dir);
    const body = Buffer.from('x'.repeat(5000) + 'the end');
    const sha = sha256Hex(body);
    async function* cutAfter(bytes: number): AsyncGenerator<Uint8Array> {
      yield body.subarray(0, bytes);
      throw new Error('connection reset');
    }
    await assert.rejects(store.receiveBlob(sha, cutAfter(3000), 0, body.length), /connection reset/);
    assert.equal(store.hasBlob(sha), false);
    assert.equal(store.partialBytes(sha), 3000);
    store.close();
    store = openStore(dir);
    assert.equal(store.partialBytes(sha), 3000, 'a restart keeps the partial download');
    await store.receiveBlob(sha, [body.subarray(3000)], 3000, body.length);
    assert.equal(fs.readFileSync(store.blobPath(sha)).toString(), body.toString());
    assert.equal(store.partialBytes(sha), 0);
  });

  test('two writers of one blob (the mirror and `mirror verify --repair`) never write one file: the blob in place always hashes to its name', async () => {
    const dir = tempStoreDir();
    const mirror = openStore(dir);
    const verify = openStore(dir);
    const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const sha = sha256Hex(body);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield body.subarray(0, 60_000);
      await gate;
      yield body.subarray(60_000);
    }
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(10_000);
      throw new Error('connection reset');
    }
    const first = mirror.receiveBlob(sha, slow(), 0, body.length);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The second writer starts over while the first is midway, writes other bytes and is cut.
    await assert.rejects(verify.receiveBlob(sha, stalls(), 0, body.length), /connection reset/);
    release();
    await first;
    assert.equal(sha256Hex(fs.readFileSync(mirror.blobPath(sha))), sha);
    assert.equal(verify.partialBytes(sha), 0, "the cut writer's partial went with the finished blob");
  });

  test('a partial download is claimed by one writer: another that asked to resume it meanwhile fails that attempt without touching it', async () => {
    const dir = tempStoreDir();
    const a = openStore(dir);
    const b = openStore(dir);
    const body = Buffer.from('y'.repeat(8000) + 'end');
    const sha = sha256Hex(body);
    async function* cutAfter(bytes: number): AsyncGenerator<Uint8Array> {
      yield body.subarray(0, bytes);
      throw new Error('connection reset');
    }
    await assert.rejects(a.receiveBlob(sha, cutAfter(4000), 0, body.length), /connection reset/);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* rest(): AsyncGenerator<Uint8Array> {
      await gate;
      yield body.subarray(4000);
    }
    const resumed = a.receiveBlob(sha, rest(), 4000, body.length);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(b.receiveBlob(sha, [body.subarray(4000)], 4000, body.length), /taken by another writer/);
    release();
    await resumed;
    assert.equal(fs.readFileSync(a.blobPath(sha)).toString(), body.toString());
  });

  test('a resumed download whose earlier bytes were wrong fails the whole-file hash and starts over next time', async () => {
    const store = openStore();
    const body = Buffer.from('y'.repeat(4000));
    const sha = sha256Hex(body);
    async function* corruptThenCut(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('z'.repeat(1000));
      throw new Error('connection reset');
    }
    await assert.rejects(store.receiveBlob(sha, corruptThenCut(), 0, body.length), /connection reset/);
    await assert.rejects(store.receiveBlob(sha, [body.subarray(1000)], 1000, body.length), BlobMismatchError);
    assert.equal(store.hasBlob(sha), false, 'never served');
    assert.equal(store.partialBytes(sha), 0, 'the bad prefix is gone, so the next attempt asks from byte 0');
    await store.receiveBlob(sha, [body], 0, body.length);
    assert.equal(store.hasBlob(sha), true);
  });
});
