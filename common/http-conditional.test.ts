import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentRange, etagOf, httpDate, notModified, selectRange, unsatisfiedRange } from './http-conditional';

describe('client conditionals', () => {
  const stored = { etag: '"v1"', 'last-modified': 'Mon, 01 Jun 2026 10:00:00 GMT' };

  it('answers 304 when If-None-Match names the stored ETag, weakly compared', () => {
    assert.equal(notModified({ 'if-none-match': '"v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': 'W/"v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': 'W/"v0", W/"v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '"x", "v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '*' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '"v2"' }, stored), false);
  });

  it('reads If-None-Match tag by tag, since commas are legal inside an entity tag', () => {
    assert.equal(notModified({ 'if-none-match': '"a,b", "v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '"x,y"' }, { etag: '"x,y"' }), true);
    assert.equal(notModified({ 'if-none-match': '"x"' }, { etag: '"x,y"' }), false);
  });

  it('never matches If-None-Match against a representation without an ETag', () => {
    assert.equal(notModified({ 'if-none-match': '"v1"' }, { 'last-modified': stored['last-modified'] }), false);
  });

  it('ignores If-Modified-Since when If-None-Match is present', () => {
    assert.equal(
      notModified({ 'if-none-match': '"v2"', 'if-modified-since': 'Tue, 02 Jun 2026 00:00:00 GMT' }, stored),
      false,
    );
  });

  it('answers 304 when the copy has not changed since If-Modified-Since', () => {
    assert.equal(notModified({ 'if-modified-since': 'Mon, 01 Jun 2026 10:00:00 GMT' }, stored), true);
    assert.equal(notModified({ 'if-modified-since': 'Mon, 01 Jun 2026 09:59:59 GMT' }, stored), false);
    assert.equal(notModified({ 'if-modified-since': 'garbage' }, stored), false);
    assert.equal(notModified({}, stored), false);
  });

  it('compares If-Modified-Since at one-second resolution', () => {
    const lm = Date.UTC(2025, 0, 1, 0, 0, 0, 500);
    const current = { etag: '"abc"', 'last-modified': httpDate(lm) };
    assert.equal(notModified({ 'if-modified-since': httpDate(lm) }, current), true);
    assert.equal(notModified({ 'if-modified-since': httpDate(lm - 1000) }, current), false);
  });

  it('ignores If-Modified-Since for a representation without a modification date (RFC 9110 §13.1.3)', () => {
    assert.equal(notModified({ 'if-modified-since': 'Mon, 01 Jun 2026 10:00:00 GMT' }, { etag: '"v1"' }), false);
  });
});

describe('ranges of a stored body', () => {
  const etag = etagOf('abc');
  const lmText = httpDate(Date.UTC(2025, 0, 1, 0, 0, 0, 500));
  const range = (header: string | undefined, extra: Record<string, string> = {}) =>
    selectRange({ range: header, ...extra }, { etag, 'last-modified': lmText }, 10);

  it('selects single byte ranges, suffixes and open ends', () => {
    assert.deepEqual(selectRange({ range: 'bytes=0-3' }, {}, 10), { kind: 'partial', start: 0, end: 3 });
    assert.deepEqual(selectRange({ range: 'bytes=-3' }, {}, 10), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(selectRange({ range: 'bytes=5-' }, {}, 10), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(selectRange({ range: 'bytes=5-100' }, {}, 10), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(range('bytes=0-0'), { kind: 'partial', start: 0, end: 0 });
    assert.deepEqual(range('bytes=2-5'), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(range('bytes=7-'), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(range('bytes=-30'), { kind: 'partial', start: 0, end: 9 });
  });

  it('serves the full body for absent, multiple, invalid or other-unit ranges', () => {
    assert.deepEqual(range(undefined), { kind: 'full' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1,4-5' }, {}, 10), { kind: 'full' });
    assert.deepEqual(range('bytes=5-2'), { kind: 'full' });
    assert.deepEqual(range('items=0-1'), { kind: 'full' });
    assert.deepEqual(range('bytes=-'), { kind: 'full' });
  });

  it('reports ranges past the end as unsatisfiable', () => {
    assert.deepEqual(selectRange({ range: 'bytes=10-' }, {}, 10), { kind: 'unsatisfiable' });
    assert.deepEqual(range('bytes=-0'), { kind: 'unsatisfiable' });
    assert.deepEqual(selectRange({ range: 'bytes=-3' }, {}, 0), { kind: 'unsatisfiable' });
  });

  it('ignores the range when If-Range names another representation', () => {
    assert.deepEqual(range('bytes=2-5', { 'if-range': '"abc"' }), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(range('bytes=2-5', { 'if-range': lmText }), { kind: 'partial', start: 2, end: 5 });
    assert.deepEqual(range('bytes=2-5', { 'if-range': '"old"' }), { kind: 'full' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': '"old"' }, { etag: '"new"' }, 10), { kind: 'full' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': '"new"' }, { etag: '"new"' }, 10), {
      kind: 'partial',
      start: 0,
      end: 1,
    });
    const modified = 'Mon, 01 Jun 2026 10:00:00 GMT';
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': modified }, { 'last-modified': modified }, 10), {
      kind: 'partial',
      start: 0,
      end: 1,
    });
    // A date cannot match a representation that has none.
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': modified }, { etag: '"new"' }, 10), {
      kind: 'full',
    });
  });

  it('compares If-Range strongly: a weak tag on either side means the whole body (RFC 9110 §13.1.5)', () => {
    assert.deepEqual(range('bytes=2-5', { 'if-range': 'W/"abc"' }), { kind: 'full' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': 'W/"new"' }, { etag: 'W/"new"' }, 10), {
      kind: 'full',
    });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': '"new"' }, { etag: 'W/"new"' }, 10), {
      kind: 'full',
    });
  });

  it('names the range and the whole length in Content-Range', () => {
    assert.equal(contentRange({ start: 2, end: 5 }, 10), 'bytes 2-5/10');
    assert.equal(unsatisfiedRange(10), 'bytes */10');
  });
});

describe('If-Modified-Since against a stored Last-Modified (RFC 9110 §13.1.3)', () => {
  const stored = { 'last-modified': 'Mon, 01 Jun 2026 10:00:00 GMT' };

  it('answers 304 for a representation validated by Last-Modified alone (RFC 9110 §13.1.3)', () => {
    assert.equal(notModified({ 'if-modified-since': 'Mon, 01 Jun 2026 10:00:00 GMT' }, stored), true);
    assert.equal(notModified({ 'if-modified-since': 'Tue, 02 Jun 2026 00:00:00 GMT' }, stored), true);
    assert.equal(notModified({ 'if-modified-since': 'Mon, 01 Jun 2026 09:59:59 GMT' }, stored), false);
  });

  it('accepts the obsolete date forms and ignores an invalid If-Modified-Since (RFC 9110 §13.1.3, §5.6.7)', () => {
    assert.equal(notModified({ 'if-modified-since': 'Monday, 01-Jun-26 10:00:00 GMT' }, stored), true);
    assert.equal(notModified({ 'if-modified-since': 'Mon Jun  1 10:00:00 2026' }, stored), true);
    assert.equal(notModified({ 'if-modified-since': 'Mon, 01 Jun 2026 10:00:00 UTC' }, stored), false);
    assert.equal(notModified({ 'if-modified-since': 'tomorrow' }, stored), false);
  });
});
