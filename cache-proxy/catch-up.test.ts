import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCatchUp, type CatchUp } from './catch-up';

/** The position a fill of `path` needs, or undefined. */
const needs = (catchUp: CatchUp, path: string) => catchUp.required(path)?.position;

const A = 'http://mirror-a:8081';
const B = 'http://mirror-b:8081';

describe('catch-up: the journal position a fill must come from', () => {
  it('asks nothing of a path no eviction named', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/news/a', 7);
    assert.equal(needs(catchUp, '/news/b'), undefined);
  });

  it('holds an evicted path to the position of its latest eviction until every upstream has answered from past it', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/', 5);
    catchUp.evicted('/', 9);
    catchUp.evicted('/', 8);
    assert.equal(needs(catchUp, '/'), 9);
    catchUp.seen(A, 12);
    assert.equal(needs(catchUp, '/'), 9, 'mirror B has not been seen at 9 yet');
    catchUp.seen(B, 9);
    assert.equal(needs(catchUp, '/'), undefined);
    assert.equal(catchUp.pending, 0);
  });

  it('never lets an upstream position go backwards', () => {
    const catchUp = createCatchUp([A]);
    catchUp.seen(A, 10);
    catchUp.seen(A, 3);
    catchUp.evicted('/x', 10);
    assert.equal(needs(catchUp, '/x'), undefined);
  });

  it('holds every path to the feed head of a first contact', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evictedAll(40);
    assert.equal(needs(catchUp, '/anything'), 40);
    catchUp.evicted('/later', 41);
    assert.equal(needs(catchUp, '/later'), 41);
    catchUp.seen(A, 41);
    catchUp.seen(B, 41);
    assert.equal(needs(catchUp, '/anything'), undefined);
    assert.equal(needs(catchUp, '/later'), undefined);
  });

  it('keeps its memory bounded by turning the oldest record into a floor: stricter, never looser', () => {
    const catchUp = createCatchUp([A], 3);
    for (const [i, path] of ['/1', '/2', '/3', '/4', '/5'].entries()) catchUp.evicted(path, 10 + i);
    assert.equal(catchUp.pending, 3);
    // /1 (10) and /2 (11) were dropped: every path now needs at least 11.
    assert.equal(needs(catchUp, '/1'), 11);
    assert.equal(needs(catchUp, '/unrelated'), 11);
    assert.equal(needs(catchUp, '/5'), 14);
    catchUp.seen(A, 12);
    assert.equal(needs(catchUp, '/unrelated'), undefined);
    assert.equal(needs(catchUp, '/4'), 13);
  });

  it('counts an upstream never heard from as at the start, so nothing is dropped on its account', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/', 3);
    catchUp.seen(A, 100);
    assert.equal(needs(catchUp, '/'), 3);
  });

  it('is strict about a page the latest change removed, and about a path it knows only by a floor', () => {
    const catchUp = createCatchUp([A, B]);
    catchUp.evicted('/news/a', 5);
    assert.deepEqual(catchUp.required('/news/a'), { position: 5, strict: false });
    catchUp.evicted('/news/a', 6, true);
    assert.deepEqual(catchUp.required('/news/a'), { position: 6, strict: true });
    catchUp.evicted('/news/a', 4);
    assert.deepEqual(catchUp.required('/news/a'), { position: 6, strict: true }, 'an older change decides nothing');
    catchUp.evicted('/news/a', 7);
    assert.deepEqual(catchUp.required('/news/a'), { position: 7, strict: false }, 'republished');
    catchUp.evictedAll(9);
    assert.deepEqual(catchUp.required('/news/a'), { position: 9, strict: true }, 'what changed up to 9 is unknown');
    assert.deepEqual(catchUp.required('/other'), { position: 9, strict: true });
  });
});
