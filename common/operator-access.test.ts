import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerMatches, isOperatorPath } from './operator-access';

describe('operator access', () => {
  it('counts /metrics and everything under /_mirror as operator paths, and nothing that merely looks alike', () => {
    for (const path of [
      '/metrics',
      '/_mirror',
      '/_mirror/',
      '/_mirror/status',
      '/_mirror/manifest',
      '/_mirror/next/one',
    ])
      assert.equal(isOperatorPath(path), true, path);
    for (const path of [
      '/',
      '/metrics/',
      '/metrics.html',
      '/_mirrors/status',
      '/a/_mirror/status',
      '/healthz',
      '/feed',
    ])
      assert.equal(isOperatorPath(path), false, path);
  });

  it('accepts only `Bearer <the token>`, and nothing at all while the token is empty', () => {
    const token = 'operator-token-0123456789';
    assert.equal(bearerMatches(token, `Bearer ${token}`), true);
    assert.equal(bearerMatches(token, `bearer ${token}`), true);
    assert.equal(bearerMatches(token, `Bearer ${token}x`), false);
    assert.equal(bearerMatches(token, token), false);
    assert.equal(bearerMatches(token, `Basic ${token}`), false);
    assert.equal(bearerMatches(token, undefined), false);
    assert.equal(bearerMatches('', 'Bearer '), false);
    assert.equal(bearerMatches('', undefined), false);
  });
});
