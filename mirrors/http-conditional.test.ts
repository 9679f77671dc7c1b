import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideRange, isNotModified } from './http-conditional';

const etag = '"abc"';
const lm = Date.UTC(2025, 0, 1, 0, 0, 0, 500);
const lmText = new Date(lm).toUTCString();

describe('isNotModified', () => {
  test('matches If-None-Match by weak comparison, in lists and for *', () => {
    assert.equal(isNotModified({ 'if-none-match': '"abc"' }, etag, lm), true);
    assert.equal(isNotModified({ 'if-none-match': 'W/"abc"' }, etag, lm), true);
    assert.equal(isNotModified({ 'if-none-match': '"x", "abc"' }, etag, lm), true);
    assert.equal(isNotModified({ 'if-none-match': '*' }, etag, lm), true);
    assert.equal(isNotModified({ 'if-none-match': '"x"' }, etag, lm), false);
  });

  test('If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.1.3)', () => {
    assert.equal(isNotModified({ 'if-none-match': '"x"', 'if-modified-since': lmText }, etag, lm), false);
  });

  test('compares If-Modified-Since at one-second resolution', () => {
    assert.equal(isNotModified({ 'if-modified-since': lmText }, etag, lm), true);
    assert.equal(isNotModified({ 'if-modified-since': new Date(lm - 1000).toUTCString() }, etag, lm), false);
    assert.equal(isNotModified({ 'if-modified-since': 'not a date' }, etag, lm), false);
    assert.equal(isNotModified({}, etag, lm), false);
  });
});

describe('decideRange', () => {
  const range = (header: string | undefined, extra: Record<string, string> = {}) =>
    decideRange({ range: header, ...extra }, 10, etag, lmText);

  test('honours one bytes range in each form', () => {
    assert.deepEqual(range('bytes=0-0'), { kind: 'partial', start: 0, end: 0 });
    assert.deepEqual(range('bytes=2-5'), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(range('bytes=7-'), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(range('bytes=5-100'), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(range('bytes=-3'), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(range('bytes=-30'), { kind: 'partial', start: 0, end: 9 });
  });

  test('serves the full body for absent, multiple, invalid or other-unit ranges', () => {
    assert.deepEqual(range(undefined), { kind: 'full' });
    assert.deepEqual(range('bytes=0-1,3-4'), { kind: 'full' });
    assert.deepEqual(range('bytes=5-2'), { kind: 'full' });
    assert.deepEqual(range('items=0-1'), { kind: 'full' });
    assert.deepEqual(range('bytes=-'), { kind: 'full' });
  });

  test('reports ranges past the end as unsatisfiable', () => {
    assert.deepEqual(range('bytes=10-'), { kind: 'unsatisfiable' });
    assert.deepEqual(range('bytes=-0'), { kind: 'unsatisfiable' });
  });

  test('ignores the range when If-Range names another representation', () => {
    assert.deepEqual(range('bytes=2-5', { 'if-range': '"abc"' }), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(range('bytes=2-5', { 'if-range': lmText }), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(range('bytes=2-5', { 'if-range': '"old"' }), { kind: 'full' });
  });
});
