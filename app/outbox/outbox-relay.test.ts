import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createDatabase, type Database } from '../../common/db/database';
import { createLogger } from '../../common/logger';
import type { RenderJob, RenderQueue } from '../../common/queue/render-queue';
import { migrateLatest } from '../db/migrate';
import { startOutboxRelay } from './outbox-relay';

/** A queue that keeps what it was given, in the batches it was given in. */
function recordingQueue(): RenderQueue & { batches: RenderJob[][] } {
  const batches: RenderJob[][] = [];
  return {
    batches,
    async enqueue(jobs) {
      batches.push(jobs);
    },
    process() {},
    depth: async () => 0,
    ping: async () => undefined,
    close: async () => undefined,
  };
}

describe('outbox relay', () => {
  let dir: string;
  let db: Database;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-relay-'));
    db = createDatabase(`sqlite:${path.join(dir, 'db.sqlite')}`);
    await migrateLatest(db);
  });

  after(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dispatches nothing while held, then every save written meanwhile in one pass', async () => {
    const queue = recordingQueue();
    // A long interval: only wake() and the end of the hold dispatch during the test.
    const relay = startOutboxRelay({
      db,
      queue,
      logger: createLogger('silent', 'relay'),
      registry: new Registry(),
      intervalMs: 600_000,
    });
    await relay.drain();
    const save = (itemId: number) => db('outbox').insert({ topic: 'article', item_id: itemId, created_at: Date.now() });
    try {
      await relay.hold(async () => {
        await save(1);
        relay.wake();
        await relay.drain();
        await save(2);
        relay.wake();
        assert.deepEqual(queue.batches, [], 'nothing handed to the queue while held');
      });
      await relay.drain();
      assert.deepEqual(
        queue.batches.map((jobs) => jobs.map((j) => j.itemId).sort()),
        [[1, 2]],
        'both saves in one batch, once the hold ends',
      );
    } finally {
      await relay.stop();
    }
  });
});
