import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { FeedBatch, JournalEntry } from '../common/feed-format';
import { sha256Hex } from '../common/hash';
import { MissingBlobError, OutOfOrderBatchError, StaleEpochBatchError, BlobMismatchError } from './errors';
import { batchRefusal, MirrorStore } from './mirror-store';

const opened: MirrorStore[] = [];
afterEach(() => {
  const dirs = new Set(opened.map((s) => s.dir));
  while (opened.length) opened.pop()?.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function openStore(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'))): MirrorStore {
  const store = MirrorStore.open(dir);
  opened.push(store);
  return store;
}

function entry(seq: number, pathName: string, body: string | null, extra: Partial<JournalEntry> = {}): JournalEntry {
  return {
    seq,
    epoch: 1,
    batch: 1,
    path: pathName,
    op: body === null ? 'delete' : 'put',
    sha256: body === null ? null : sha256Hex(body),
    size: body === null ? 0 : Buffer.byteLength(body),
    contentType: 'text/html',
    lastModified: 1_700_000_000_000,
    kind: 'article',
    ...extra,
  };
}

function batch(batchNo: number, entries: JournalEntry[], epoch = 1): FeedBatch {
  return { epoch, batch: batchNo, entries: entries.map((e) => ({ ...e, batch: batchNo, epoch })) };
}

async function putBlob(store: MirrorStore, body: string): Promise<void> {
  await store.writeBlob(sha256Hex(body), [Buffer.from(body)]);
}

describe('MirrorStore', () => {
  test('starts empty at cursor 0, epoch 0', () => {
    const store = openStore();
    assert.deepEqual(store.state(), { cursor: 0, epoch: 0 });
    assert.equal(store.lookup('/'), undefined);
  });

  test('applies a batch whose blobs are present and keeps it across reopen', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
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

  test('an interrupted download keeps its bytes (also across reopen) and resumes from them; the hash covers the whole file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
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
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
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
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
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

  test('on open, a partial claimed by a process that died goes back to being resumable; temp files of a live process are left alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
    openStore(dir).close();
    const tmp = path.join(dir, 'blobs', 'tmp');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const claimed = sha256Hex('claimed by a killed mirror');
    const inFlight = sha256Hex('being written by a live process');
    fs.writeFileSync(path.join(tmp, `${claimed}.part.${dead}.0123456789ab`), 'half');
    fs.writeFileSync(path.join(tmp, `${inFlight}.${process.pid}.0123456789ab`), 'in flight');
    fs.writeFileSync(path.join(tmp, `${inFlight}.part.${process.pid}.ba9876543210`), 'claimed, in flight');
    const store = openStore(dir);
    assert.equal(store.partialBytes(claimed), 4);
    assert.deepEqual(
      fs.readdirSync(tmp).sort(),
      [
        `${claimed}.part`,
        `${inFlight}.${process.pid}.0123456789ab`,
        `${inFlight}.part.${process.pid}.ba9876543210`,
      ].sort(),
    );
  });

  test('on open, a partial download younger than a day is kept; an older one and any other temp file are removed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
    openStore(dir).close();
    const tmp = path.join(dir, 'blobs', 'tmp');
    const fresh = sha256Hex('fresh');
    const old = sha256Hex('old');
    fs.writeFileSync(path.join(tmp, `${fresh}.part`), 'fre');
    fs.writeFileSync(path.join(tmp, `${old}.part`), 'ol');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    fs.utimesSync(path.join(tmp, `${old}.part`), twoDaysAgo, twoDaysAgo);
    fs.writeFileSync(path.join(tmp, `${fresh}.123.abcdef`), 'an inline write cut by a crash');
    const store = openStore(dir);
    assert.equal(store.partialBytes(fresh), 3);
    assert.equal(store.partialBytes(old), 0);
    assert.deepEqual(fs.readdirSync(tmp), [`${fresh}.part`]);
  });

  test('on open, a .part that is a dangling link (or no regular file) is removed instead of failing the start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
    openStore(dir).close();
    const tmp = path.join(dir, 'blobs', 'tmp');
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(tmp, `${sha256Hex('link')}.part`));
    fs.symlinkSync(path.join(dir, 'index.sqlite'), path.join(tmp, `${sha256Hex('index')}.part`));
    fs.mkdirSync(path.join(tmp, `${sha256Hex('dir')}.part`));
    const store = openStore(dir);
    assert.deepEqual(fs.readdirSync(tmp), []);
    assert.equal(store.partialBytes(sha256Hex('index')), 0);
    assert.ok(fs.existsSync(path.join(dir, 'index.sqlite')), 'the link target is untouched');
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

  test('batchRefusal is a pure check of order and epoch', () => {
    const b = batch(1, [entry(10, '/a/', 'A')], 2);
    assert.equal(batchRefusal(b, 9, 2), undefined);
    assert.ok(batchRefusal(b, 10, 2) instanceof OutOfOrderBatchError);
    assert.ok(batchRefusal(b, 8, 2) instanceof OutOfOrderBatchError);
    assert.ok(batchRefusal(b, 0, 3) instanceof StaleEpochBatchError);
  });
});
