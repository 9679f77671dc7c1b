// Stores in temp directories, and feed entries and batches, for the unit
// tests of the mirror's store modules (mirrors/*-store, partial downloads,
// journal).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FeedBatch, JournalEntry } from '../../common/feed-format';
import { sha256Hex } from '../../common/hash';
import { MirrorStore } from '../../mirrors/mirror-store';

const opened: MirrorStore[] = [];

/** For afterEach: closes every store opened since, and removes their directories. */
export function closeOpenedStores(): void {
  const dirs = new Set(opened.map((s) => s.dir));
  while (opened.length) opened.pop()?.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}

export function tempStoreDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-store-'));
}

export function openStore(dir = tempStoreDir()): MirrorStore {
  const store = MirrorStore.open(dir);
  opened.push(store);
  return store;
}

export function entry(
  seq: number,
  pathName: string,
  body: string | null,
  extra: Partial<JournalEntry> = {},
): JournalEntry {
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

export function batch(batchNo: number, entries: JournalEntry[], epoch = 1): FeedBatch {
  return { epoch, batch: batchNo, entries: entries.map((e) => ({ ...e, batch: batchNo, epoch })) };
}

export async function putBlob(store: MirrorStore, body: string): Promise<void> {
  await store.writeBlob(sha256Hex(body), [Buffer.from(body)]);
}
