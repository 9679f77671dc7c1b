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

  test('before any hello, no batch is acceptable', () => {
    assert.throws(() => new FeedEpochs().acceptBatch(batchOf(1), Number.NEGATIVE_INFINITY), /beyond its server's/);
  });
});
