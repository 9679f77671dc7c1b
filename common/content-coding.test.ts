import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { describe, test } from 'node:test';
import { decodesTo, encodeVariants, isCompressible, selectCoding, wantsVariants } from './content-coding';
import { sha256Hex } from './hash';

const BOTH = { br: 300, gzip: 350 };

describe('content codings', () => {
  test('text types are compressible, images and media are not', () => {
    for (const type of [
      'text/html; charset=utf-8',
      'text/css',
      'text/plain',
      'application/rss+xml; charset=utf-8',
      'application/atom+xml',
      'application/xml',
      'application/json',
      'application/manifest+json',
      'application/javascript',
      'image/svg+xml',
    ])
      assert.ok(isCompressible(type), type);
    for (const type of ['image/webp', 'image/jpeg', 'video/mp4', 'audio/mpeg', 'application/octet-stream'])
      assert.ok(!isCompressible(type), type);
    assert.ok(!wantsVariants('text/html', 100), 'tiny bodies get none');
  });

  test('selects by q-value, prefers the smaller body on a tie, and never sends a coding not asked for', () => {
    assert.equal(selectCoding(undefined, BOTH, 1000), 'identity');
    assert.equal(selectCoding('', BOTH, 1000), 'identity');
    assert.equal(selectCoding('gzip, deflate, br, zstd', BOTH, 1000), 'br');
    assert.equal(selectCoding('gzip', BOTH, 1000), 'gzip');
    assert.equal(selectCoding('x-gzip', BOTH, 1000), 'gzip');
    assert.equal(selectCoding('br;q=0.5, gzip;q=0.8', BOTH, 1000), 'gzip');
    assert.equal(selectCoding('br;q=0, gzip', BOTH, 1000), 'gzip');
    assert.equal(selectCoding('BR;Q=1', BOTH, 1000), 'br');
    assert.equal(selectCoding('*', BOTH, 1000), 'br');
    assert.equal(selectCoding('*;q=0.1, gzip;q=0', BOTH, 1000), 'br');
    assert.equal(selectCoding('deflate', BOTH, 1000), 'identity');
    assert.equal(selectCoding('identity;q=1, br;q=0.5', BOTH, 1000), 'identity');
    assert.equal(selectCoding('br;q=2', BOTH, 1000), 'identity', 'a malformed q counts as 0');
    assert.equal(selectCoding('gzip, br', {}, 1000), 'identity', 'a page without variants');
    assert.equal(selectCoding('gzip, br', { br: 1000, gzip: 1200 }, 1000), 'identity', 'never larger');
  });

  test('identity;q=0 or *;q=0 refuses identity: nothing acceptable is none (406)', () => {
    assert.equal(selectCoding('gzip, identity;q=0', BOTH, 1000), 'gzip');
    assert.equal(selectCoding('identity;q=0', BOTH, 1000), 'none');
    assert.equal(selectCoding('*;q=0', BOTH, 1000), 'none');
    assert.equal(selectCoding('deflate, *;q=0', {}, 1000), 'none');
    assert.equal(selectCoding('*;q=0, identity', BOTH, 1000), 'identity');
  });

  test('encodings decode to the page; a forged or oversized one does not verify', async () => {
    const page = Buffer.from('<p>' + 'news '.repeat(500) + '</p>');
    const sha = sha256Hex(page);
    const { br, gzip } = await encodeVariants(page);
    assert.ok(br.length < gzip.length && gzip.length < page.length);
    assert.ok(decodesTo('br', br, sha, page.length));
    assert.ok(decodesTo('gzip', gzip, sha, page.length));
    assert.ok(!decodesTo('gzip', br, sha, page.length), 'wrong coding');
    const forged = zlib.gzipSync(Buffer.from('<p>forged</p>'));
    assert.ok(!decodesTo('gzip', forged, sha, page.length));
    const bomb = zlib.gzipSync(Buffer.alloc(10_000_000));
    assert.ok(!decodesTo('gzip', bomb, sha, page.length), 'stops past the signed size');
  });
});
