import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectDelay } from './feed-client';

test('the reconnect delay doubles per failure up to its cap, jittered into its upper half', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => reconnectDelay(n, 500, 3000, () => 1)),
    [500, 1000, 2000, 3000, 3000],
  );
  assert.equal(
    reconnectDelay(2, 500, 3000, () => 0),
    500,
  );
  assert.equal(
    reconnectDelay(200, 500, 30_000, () => 0.5),
    22_500,
  );
});
