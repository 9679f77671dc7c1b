import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNormalTarget, normalizeAcceptEncoding, normalizeTarget, NormalizeError } from './normalize';

function url(raw: string): string {
  return normalizeTarget(raw).url;
}

function refused(raw: string): number {
  try {
    normalizeTarget(raw);
  } catch (error) {
    assert.ok(error instanceof NormalizeError);
    return error.status;
  }
  assert.fail(`${raw} was accepted`);
}

describe('request target normalization', () => {
  it('removes dot segments so equivalent paths share a key', () => {
    assert.equal(url('/a/../b'), '/b');
    assert.equal(url('/a/./b'), '/a/b');
    assert.equal(url('/a/b/..'), '/a/');
    assert.equal(url('/a/%2e%2E/b'), '/b');
    assert.equal(url('/a//b'), '/a/b');
  });

  it('never climbs above the root', () => {
    assert.equal(url('/../../etc/passwd'), '/etc/passwd');
    assert.equal(url('/..'), '/');
  });

  it('decodes unreserved escapes and upper-cases the rest', () => {
    assert.equal(url('/%7euser/%c3%a9t%C3%A9'), '/~user/%C3%A9t%C3%A9');
    assert.equal(url('/%41'), '/A');
  });

  it('keeps the query but drops the fragment', () => {
    assert.equal(url('/search?q=a/../b#top'), '/search?q=a/../b');
    assert.deepEqual(normalizeTarget('/x?y=1'), { path: '/x', search: '?y=1', url: '/x?y=1' });
  });

  it('takes only path and query from an absolute-form target, never the host', () => {
    assert.equal(url('http://evil.example/a/../b?c'), '/b?c');
    assert.equal(url('http://evil.example'), '/');
  });

  it('refuses encoded separators, backslashes, control characters and bad escapes with 400', () => {
    assert.equal(refused('/a/..%2f..%2fb'), 400);
    assert.equal(refused('/a/%5c..'), 400);
    assert.equal(refused('/a\\..\\b'), 400);
    assert.equal(refused('/a%00'), 400);
    assert.equal(refused('/a%zz'), 400);
    assert.equal(refused('*'), 400);
  });

  it('refuses targets longer than 8 KB with 414', () => {
    assert.equal(refused('/' + 'a'.repeat(8192)), 414);
  });

  it('lets the hit path use a raw target as the key only when normalization would not change it', () => {
    const samples = [
      '/',
      '/a',
      '/a/',
      '/news/2026/story-1.html',
      '/a?x=1&y=%41',
      '/a/./b',
      '/a/../b',
      '//a',
      '/a//b',
      '/%41',
      '/a#frag',
      '/.hidden',
      '/a b',
      '/caf\u00e9',
      '/a?b c',
      'http://h/a',
      '',
    ];
    for (const raw of samples) {
      if (!isNormalTarget(raw)) continue;
      assert.equal(normalizeTarget(raw).url, raw, raw);
    }
    assert.equal(isNormalTarget('/news/2026/story-1.html'), true);
    assert.equal(isNormalTarget('/a?x=1&y=%41'), true);
    for (const raw of ['/a/../b', '/a/./b', '//a', '/%41', '/a#frag', '/.hidden', 'http://h/a', ''])
      assert.equal(isNormalTarget(raw), false, raw);
  });
});

describe('Accept-Encoding normalization', () => {
  it('reduces every spelling to the best coding the reader accepts', () => {
    assert.equal(normalizeAcceptEncoding('gzip, br'), 'br');
    assert.equal(normalizeAcceptEncoding('br,gzip'), 'br');
    assert.equal(normalizeAcceptEncoding('gzip, deflate, br, zstd'), 'br');
    assert.equal(normalizeAcceptEncoding('GZIP;q=0.5, BR;q=1.0, sdch'), 'br');
    assert.equal(normalizeAcceptEncoding('gzip, deflate'), 'gzip');
    assert.equal(normalizeAcceptEncoding(['deflate', 'gzip']), 'gzip');
    assert.equal(normalizeAcceptEncoding('deflate'), 'deflate');
  });

  it('drops codings refused with q=0 and keeps nothing for identity-only readers', () => {
    assert.equal(normalizeAcceptEncoding('gzip, br;q=0'), 'gzip');
    assert.equal(normalizeAcceptEncoding('identity'), undefined);
    assert.equal(normalizeAcceptEncoding('sdch'), undefined);
    assert.equal(normalizeAcceptEncoding(''), undefined);
    assert.equal(normalizeAcceptEncoding(undefined), undefined);
  });

  it('reads * as brotli, or gzip when brotli is refused', () => {
    assert.equal(normalizeAcceptEncoding('*'), 'br');
    assert.equal(normalizeAcceptEncoding('*, br;q=0'), 'gzip');
    assert.equal(normalizeAcceptEncoding('*, br;q=0, gzip;q=0'), undefined);
  });

  it('answers a spelling it has seen before the same way', () => {
    for (let i = 0; i < 300; i++) normalizeAcceptEncoding(`gzip, x-${i}`);
    assert.equal(normalizeAcceptEncoding('gzip, deflate'), 'gzip');
    assert.equal(normalizeAcceptEncoding('gzip, deflate'), 'gzip');
  });
});
