import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokensMatch } from './sessions';

describe('CSRF token comparison', () => {
  it('refuses a CSRF token of the right length in characters but not in bytes, rather than throwing', () => {
    const token = 'a'.repeat(32);
    assert.equal(tokensMatch(token, token), true);
    // timingSafeEqual throws on buffers of different byte lengths: a 500 for a forged form instead of a 403.
    for (const given of [
      `${'a'.repeat(31)}\u00e9`,
      `${'a'.repeat(31)}\u{1F600}`.slice(0, 32),
      'a'.repeat(31),
      ['a'.repeat(32)],
      undefined,
    ]) {
      assert.equal(tokensMatch(token, given), false, JSON.stringify(given));
    }
  });
});
