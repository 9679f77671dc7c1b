import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createSseParser } from '../common/feed-client';
import type { FeedBatch } from '../common/feed-format';
import { sha256Hex } from '../common/hash';
import { createLogger } from '../common/logger';
import { createFeedHub } from './feed-hub';
import { MirrorStore } from './mirror-store';

const BODY = 'same body for every page';

function batchAt(seq: number): FeedBatch {
  return {
    epoch: 1,
    batch: seq,
    entries: [{ seq, epoch: 1, batch: seq, path: `/p${seq}/`, op: 'put', sha256: sha256Hex(BODY), size: BODY.length, contentType: 'text/html', lastModified: 0, kind: 'article' }],
  };
}

test('a client is replayed the journal and then switched to live pushes with no gap or duplicate, even when batches land mid-replay', async () => {
  const store = MirrorStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-hub-')));
  await store.writeBlob(sha256Hex(BODY), [Buffer.from(BODY)]);
  for (let seq = 1; seq <= 100; seq++) store.applyBatch(batchAt(seq));
  const hub = createFeedHub({ store, logger: createLogger('silent', 'test') });

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
        else ids.push(Number(event.id));
      }
    }
    await reader.cancel();
    assert.deepEqual(hello, { epoch: 1, head: 100 });
    assert.deepEqual(ids, Array.from({ length: 130 }, (_, i) => i + 1));
  } finally {
    hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    store.close();
    fs.rmSync(store.dir, { recursive: true, force: true });
  }
});
