import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notModified, selectRange } from './conditional';
import { formatCacheStatus } from './cache-status';

describe('client conditionals', () => {
  const stored = { etag: '"v1"', 'last-modified': 'Mon, 01 Jun 2026 10:00:00 GMT' };

  it('answers 304 when If-None-Match names the stored ETag, weakly compared', () => {
    assert.equal(notModified({ 'if-none-match': '"v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': 'W/"v0", W/"v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '*' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '"v2"' }, stored), false);
    // Commas are legal inside an entity tag: the list is read tag by tag.
    assert.equal(notModified({ 'if-none-match': '"a,b", "v1"' }, stored), true);
    assert.equal(notModified({ 'if-none-match': '"x,y"' }, { etag: '"x,y"' }), true);
    assert.equal(notModified({ 'if-none-match': '"x"' }, { etag: '"x,y"' }), false);
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
  });
});

describe('ranges of a stored body', () => {
  it('selects single byte ranges, suffixes and open ends', () => {
    assert.deepEqual(selectRange({ range: 'bytes=0-3' }, {}, 10), { kind: 'partial', start: 0, end: 3 });
    assert.deepEqual(selectRange({ range: 'bytes=-3' }, {}, 10), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(selectRange({ range: 'bytes=5-' }, {}, 10), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(selectRange({ range: 'bytes=5-100' }, {}, 10), { kind: 'partial', start: 5, end: 9 });
  });

  it('refuses ranges past the end and serves everything for multi-range or stale If-Range', () => {
    assert.deepEqual(selectRange({ range: 'bytes=10-' }, {}, 10), { kind: 'unsatisfiable' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1,4-5' }, {}, 10), { kind: 'full' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': '"old"' }, { etag: '"new"' }, 10), { kind: 'full' });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': '"new"' }, { etag: '"new"' }, 10), {
      kind: 'partial',
      start: 0,
      end: 1,
    });
    // §13.1.5: If-Range compares strongly, so a weak tag on either side means the whole body.
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': 'W/"new"' }, { etag: 'W/"new"' }, 10), {
      kind: 'full',
    });
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': '"new"' }, { etag: 'W/"new"' }, 10), {
      kind: 'full',
    });
    const modified = 'Mon, 01 Jun 2026 10:00:00 GMT';
    assert.deepEqual(selectRange({ range: 'bytes=0-1', 'if-range': modified }, { 'last-modified': modified }, 10), {
      kind: 'partial',
      start: 0,
      end: 1,
    });
  });
});

describe('Cache-Status', () => {
  it('formats RFC 9211 parameters in a stable order', () => {
    assert.equal(formatCacheStatus({ hit: true, ttl: 41.6 }), 'Hyperstatic; hit; ttl=42');
    assert.equal(
      formatCacheStatus({ fwd: 'uri-miss', fwdStatus: 200, stored: true, collapsed: true }),
      'Hyperstatic; fwd=uri-miss; fwd-status=200; stored; collapsed',
    );
    assert.equal(
      formatCacheStatus({ fwd: 'stale', ttl: -5, detail: 'stale-if-error' }),
      'Hyperstatic; fwd=stale; ttl=-5; detail=stale-if-error',
    );
  });
});
