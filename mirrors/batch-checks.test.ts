import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OutOfOrderBatchError, StaleEpochBatchError } from './errors';
import { batchRefusal } from './batch-checks';
import { batch, entry } from '../test/support/mirror-store-fixtures';

describe('batch checks', () => {
  test('batchRefusal is a pure check of order and epoch', () => {
    const b = batch(1, [entry(10, '/a/', 'A')], 2);
    assert.equal(batchRefusal(b, 9, 2), undefined);
    assert.ok(batchRefusal(b, 10, 2) instanceof OutOfOrderBatchError);
    assert.ok(batchRefusal(b, 8, 2) instanceof OutOfOrderBatchError);
    assert.ok(batchRefusal(b, 0, 3) instanceof StaleEpochBatchError);
  });
});
