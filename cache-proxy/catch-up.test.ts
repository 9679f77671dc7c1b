import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCatchUp } from './catch-up';

const A = 'http://mirror-a:8081';
const B = 'http://mirror-b:8081';

describe('catch-up: the journal position a fill must come from', () => {
  it('asks nothing of a path no eviction named', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/news/a', 7);
    assert.equal(catchUp.required('/news/b'), undefined);
  });

  it('holds an evicted path to the position of its latest eviction until every upstream has answered from past it', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/', 5);
    catchUp.evicted('/', 9);
    catchUp.evicted('/', 8);
    assert.equal(catchUp.required('/'), 9);
    catchUp.seen(A, 12);
    assert.equal(catchUp.required('/'), 9, 'mirror B has not been seen at 9 yet');
    catchUp.seen(B, 9);
    assert.equal(catchUp.required('/'), undefined);
    assert.equal(catchUp.pending, 0);
  });

  it('never lets an upstream position go backwards', () => {
    const catchUp = createCatchUp([A]);
    catchUp.seen(A, 10);
    catchUp.seen(A, 3);
    catchUp.evicted('/x', 10);
    assert.equal(catchUp.required('/x'), undefined);
  });

  it('holds every path to the feed head of a first contact', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evictedAll(40);
    assert.equal(catchUp.required('/anything'), 40);
    catchUp.evicted('/later', 41);
    assert.equal(catchUp.required('/later'), 41);
    catchUp.seen(A, 41);
    catchUp.seen(B, 41);
    assert.equal(catchUp.required('/anything'), undefined);
    assert.equal(catchUp.required('/later'), undefined);
  });

  it('keeps its memory bounded by turning the oldest record into a floor: stricter, never looser', () => {
    const catchUp = createCatchUp([A], 3);
    for (const [i, path] of ['/1', '/2', '/3', '/4', '/5'].entries()) catchUp.evicted(path, 10 + i);
    assert.equal(catchUp.pending, 3);
    // /1 (10) and /2 (11) were dropped: every path now needs at least 11.
    assert.equal(catchUp.required('/1'), 11);
    assert.equal(catchUp.required('/unrelated'), 11);
    assert.equal(catchUp.required('/5'), 14);
    catchUp.seen(A, 12);
    assert.equal(catchUp.required('/unrelated'), undefined);
    assert.equal(catchUp.required('/4'), 13);
  });

  it('counts an upstream never heard from as at the start, so nothing is dropped on its account', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/', 3);
    catchUp.seen(A, 100);
    assert.equal(catchUp.required('/'), 3);
  });
});
