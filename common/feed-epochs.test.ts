import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FeedBatch } from './feed-format';
import { FeedEpochs, StaleEpochError } from './feed-epochs';

function batchOf(epoch: number): FeedBatch {
  return { epoch, batch: 1, entries: [] };
}

describe('FeedEpochs', () => {
  test('refuses a server whose epoch is below the highest seen (a deposed primary)', () => {
    const epochs = new FeedEpochs(2);
    assert.throws(() => epochs.acceptServer(1), StaleEpochError);
    epochs.acceptServer(3);
    assert.equal(epochs.highest(), 3);
    assert.throws(() => epochs.acceptServer(2), StaleEpochError);
  });

  test("accepts older epochs' batches from a promoted server, but never going back or past the server's", () => {
    const epochs = new FeedEpochs();
    epochs.acceptServer(3);
    epochs.acceptBatch(batchOf(1), 3);
    epochs.acceptBatch(batchOf(3), 3);
    assert.throws(() => epochs.acceptBatch(batchOf(2), 3), StaleEpochError);
    assert.throws(() => epochs.acceptBatch(batchOf(4), 3), /beyond its server's 3/);
  });

  test('a new connection restarts the batch rule from the epoch last applied, never below the server rule', () => {
    let applied = 1;
    const epochs = new FeedEpochs(1, undefined, () => applied);
    epochs.acceptServer(2);
    epochs.acceptBatch(batchOf(2), 2); // taken, then its apply failed
    assert.throws(() => epochs.acceptBatch(batchOf(1), 2), StaleEpochError);
    epochs.resume();
    epochs.acceptBatch(batchOf(1), 2);
    applied = 2;
    epochs.resume();
    assert.throws(() => epochs.acceptBatch(batchOf(1), 2), StaleEpochError);
    assert.throws(() => epochs.acceptServer(1), StaleEpochError);
  });

  test('before any hello, no batch is acceptable', () => {
    assert.throws(() => new FeedEpochs().acceptBatch(batchOf(1), Number.NEGATIVE_INFINITY), /beyond its server's/);
  });
});
