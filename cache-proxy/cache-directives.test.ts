import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAge, parseCacheControl, responseDirectives } from './cache-directives';

describe('cache directives', () => {
  it('matches directive names case-insensitively, keeping the first of a repeated one (RFC 9111 §5.2, §4.2.1)', () => {
    const cc = parseCacheControl('No-StOrE, MAX-AGE=5, max-age=600');
    assert.equal(cc.get('no-store'), true);
    assert.equal(cc.get('max-age'), '5');
  });

  it('lets the most specific targeted field replace Cache-Control for this cache (RFC 9213 §2.2)', () => {
    const headers = {
      'cache-control': 'no-store',
      'cdn-cache-control': 'max-age=600',
      'hyperstatic-cache-control': 'max-age=30, stale-if-error=60',
    };
    assert.deepEqual(responseDirectives(headers), {
      directives: new Map<string, string | true>([
        ['max-age', '30'],
        ['stale-if-error', '60'],
      ]),
      targeted: 'hyperstatic-cache-control',
    });
    const { ['hyperstatic-cache-control']: _own, ...cdnOnly } = headers;
    assert.equal(responseDirectives(cdnOnly).targeted, 'cdn-cache-control');
    assert.equal(responseDirectives({ 'cache-control': 'max-age=5' }).targeted, undefined);
  });

  it('ignores a targeted field that is empty or not a structured dictionary (RFC 9213 §2.1)', () => {
    for (const bad of ['', 'Max-Age=60', 'max-age=60,,', 'max-age=6 0']) {
      const decided = responseDirectives({ 'cache-control': 'max-age=5', 'cdn-cache-control': bad });
      assert.equal(decided.targeted, undefined, bad);
      assert.equal(decided.directives.get('max-age'), '5');
    }
  });

  it('reads Age only as a non-negative integer (RFC 9111 §5.1)', () => {
    assert.equal(parseAge('7200'), 7200);
    assert.equal(parseAge(' 30 '), 30);
    for (const bad of ['7200.0', '-5', '1e3', 'abc', '', '30, 40']) assert.equal(parseAge(bad), undefined, bad);
    assert.equal(parseAge('30, 30'), 30);
    assert.equal(parseAge(undefined), undefined);
  });
});
