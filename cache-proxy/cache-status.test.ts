import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCacheStatus } from './cache-status';

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
