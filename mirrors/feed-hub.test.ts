import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { followFeed } from '../common/feed-client';
import { createSseParser } from '../common/sse-parser';
import type { FeedBatch } from '../common/feed-format';
import { sha256Hex } from '../common/hash';
import { createLogger } from '../common/logger';
import { createFeedHub } from './feed-hub';
import { MirrorStore } from './mirror-store';
import { TrustState } from '../common/trust/trust-state';

const TEST_KEY = Buffer.alloc(32, 7).toString('base64');

const BODY = 'same body for every page';

function batchAt(seq: number, epoch = 1): FeedBatch {
  return {
    epoch,
    batch: seq,
    entries: [
      {
        seq,
        epoch,
        batch: seq,
        path: `/p${seq}/`,
        op: 'put',
        sha256: sha256Hex(BODY),
        size: BODY.length,
        contentType: 'text/html',
        lastModified: 0,
        kind: 'article',
      },
    ],
  };
}

test('a client is replayed the journal and then switched to live pushes with no gap or duplicate, even when batches land mid-replay', async () => {
  const store = MirrorStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-hub-')));
  await store.writeBlob(sha256Hex(BODY), [Buffer.from(BODY)]);
  for (let seq = 1; seq <= 100; seq++) store.applyBatch(batchAt(seq));
  const hub = createFeedHub({
    store,
    trust: new TrustState({ kind: 'pinned', key: TEST_KEY }),
    logger: createLogger('silent', 'test'),
  });

  const server = http.createServer((req, res) => {
    hub.serve(req, res, 0);
    // Apply and push new batches across several event-loop turns while the replay is running.
    let seq = 101;
    const step = () => {
      if (seq > 130) return;
      const batch = batchAt(seq++);
      store.applyBatch(batch);
      hub.publish(batch);
      setImmediate(step);
    };
    setImmediate(step);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/feed?after=0`);
    const reader = res.body!.getReader();
    const parser = createSseParser();
    const decoder = new TextDecoder();
    const ids: number[] = [];
    let hello: unknown;
    while (ids.at(-1) !== 130) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        if (event.event === 'hello') hello = JSON.parse(event.data);
        else if (event.event === 'batch') ids.push(Number(event.id));
      }
    }
    await reader.cancel();
    assert.deepEqual(hello, { epoch: 1, head: 100 });
    assert.deepEqual(
      ids,
      Array.from({ length: 130 }, (_, i) => i + 1),
    );
  } finally {
    hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    store.close();
    fs.rmSync(store.dir, { recursive: true, force: true });
  }
});

test('a follower connected while the mirror was empty (epoch 0) takes its first batch of epoch 1, and of every later epoch, without a reconnect', async () => {
  const store = MirrorStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-hub-')));
  await store.writeBlob(sha256Hex(BODY), [Buffer.from(BODY)]);
  const hub = createFeedHub({
    store,
    trust: new TrustState({ kind: 'pinned', key: TEST_KEY }),
    logger: createLogger('silent', 'test'),
  });
  const server = http.createServer((req, res) =>
    hub.serve(req, res, Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const received: number[] = [];
  const hellos: number[] = [];
  const errors: string[] = [];
  let applied = 0;
  const follower = followFeed({
    urls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
    after: () => applied,
    onHello: (hello) => hellos.push(hello.epoch),
    onBatch: async (batch) => {
      received.push(batch.epoch);
      applied = batch.entries[batch.entries.length - 1].seq;
    },
    onError: (error) => errors.push(error.message),
    logger: createLogger('silent', 'test'),
  });
  try {
    while (hub.clients() === 0 || hellos.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const [seq, epoch] of [
      [1, 1],
      [2, 1],
      [3, 2],
    ]) {
      const batch = batchAt(seq, epoch);
      store.applyBatch(batch);
      hub.publish(batch);
    }
    while (received.length < 3 && errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(errors, []);
    assert.deepEqual(received, [1, 1, 2]);
    assert.deepEqual(hellos, [0, 1, 2], 'one hello per epoch, on the same connection');
  } finally {
    follower.close();
    hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    store.close();
    fs.rmSync(store.dir, { recursive: true, force: true });
  }
});
