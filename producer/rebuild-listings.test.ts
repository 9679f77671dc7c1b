import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { onlyOurs } from './rebuild-listings';

describe('rebuild: pages rendered outside the journal lock', () => {
  it("keeps them when the journal only grew by the rebuild's own batches since their snapshot", () => {
    assert.equal(onlyOurs([], 40, 40), true, 'nothing written since');
    assert.equal(onlyOurs([[41, 60]], 40, 60), true);
    assert.equal(
      onlyOurs(
        [
          [31, 40],
          [41, 60],
          [61, 75],
        ],
        40,
        75,
      ),
      true,
      'batches before the snapshot do not count',
    );
    assert.equal(onlyOurs([[35, 45]], 40, 45), true, 'a batch that straddles the snapshot counts only past it');
  });

  it('renders them again when another writer journaled in between', () => {
    assert.equal(onlyOurs([], 40, 41), false);
    assert.equal(onlyOurs([[41, 60]], 40, 61), false, 'one entry after our batch');
    assert.equal(onlyOurs([[42, 60]], 40, 60), false, 'one entry before our batch');
    assert.equal(onlyOurs([[31, 40]], 40, 43), false);
  });
});
