import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicyFactory, KEY_HOST } from './cache-policy';
import { compilePathRules } from './freshness';
import { hotHead } from './hit-path';
import { collectGarbage } from './memory';
import { createResponseCache, parseVary, variantKey, type CacheEntry } from './response-cache';

const policyFor = createPolicyFactory(() => 1_000_000, {
  heuristicFactor: 0.1,
  minTtl: 0,
  maxTtl: 86_400,
  indexTtl: 60,
  indexPaths: compilePathRules(['/']),
});

function entry(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  request: Record<string, string> = {},
): [CacheEntry, Record<string, string>] {
  const reqHeaders = { host: KEY_HOST, ...request };
  const policy = policyFor(
    { url, method: 'GET', headers: reqHeaders },
    { status: 200, headers: { 'cache-control': 'max-age=60', ...headers } },
  );
  return [
    { url, path: url.split('?')[0], status: 200, body: Buffer.from(body), policy, vary: parseVary(headers.vary) },
    reqHeaders,
  ];
}

describe('response cache', () => {
  it('keys variants by the values of the headers the response varies on', () => {
    assert.equal(variantKey('/a', [], { 'accept-language': 'en' }), '/a');
    assert.notEqual(
      variantKey('/a', ['accept-language'], { 'accept-language': 'en' }),
      variantKey('/a', ['accept-language'], { 'accept-language': 'fr' }),
    );
    assert.deepEqual(parseVary('Accept-Encoding, accept-language,ACCEPT-ENCODING'), [
      'accept-encoding',
      'accept-language',
    ]);
  });

  it('finds a stored variant and reports a known URL whose variant is missing', () => {
    const cache = createResponseCache({ maxBytes: 1024 * 1024, maxEntryBytes: 1024 });
    cache.store(...entry('/a', 'en', { vary: 'Accept-Language' }, { 'accept-language': 'en' }));
    assert.equal(cache.lookup('/a', { 'accept-language': 'en' }).entry?.body.toString(), 'en');
    const miss = cache.lookup('/a', { 'accept-language': 'fr' });
    assert.equal(miss.entry, undefined);
    assert.equal(miss.urlKnown, true);
    assert.equal(cache.lookup('/b', {}).urlKnown, false);
  });

  it('drops older variants when a resource changes what it varies on', () => {
    const cache = createResponseCache({ maxBytes: 1024 * 1024, maxEntryBytes: 1024 });
    cache.store(...entry('/a', 'en', { vary: 'Accept-Language' }, { 'accept-language': 'en' }));
    cache.store(...entry('/a', 'plain'));
    assert.equal(cache.size, 1);
    assert.equal(cache.lookup('/a', { 'accept-language': 'en' }).entry?.body.toString(), 'plain');
  });

  it('evicts every query and variant of a path and forgets its indexes', () => {
    const cache = createResponseCache({ maxBytes: 1024 * 1024, maxEntryBytes: 1024 });
    cache.store(...entry('/a?x=1', 'one'));
    cache.store(...entry('/a?x=2', 'two'));
    cache.store(...entry('/ab', 'other'));
    cache.evictPath('/a');
    assert.equal(cache.lookup('/a?x=1', {}).urlKnown, false);
    assert.equal(cache.lookup('/a?x=2', {}).urlKnown, false);
    assert.equal(cache.lookup('/ab', {}).entry?.body.toString(), 'other');
    assert.equal(cache.size, 1);
  });

  it('replacing a variant keeps it reachable', () => {
    const cache = createResponseCache({ maxBytes: 1024 * 1024, maxEntryBytes: 1024 });
    cache.store(...entry('/a', 'v1'));
    cache.store(...entry('/a', 'v2'));
    assert.equal(cache.lookup('/a', {}).entry?.body.toString(), 'v2');
    cache.evictPath('/a');
    assert.equal(cache.size, 0);
  });

  it('stays within its byte budget, counting headers as well as bodies', () => {
    const cache = createResponseCache({ maxBytes: 12_000, maxEntryBytes: 4000 });
    for (let i = 0; i < 10; i += 1) cache.store(...entry(`/p${i}`, 'z'.repeat(3000)));
    assert.ok(cache.bytes <= 12_000);
    // Each entry costs its body plus headers and bookkeeping (about 2 KB), so only two of 3000-byte bodies fit in 12 000.
    assert.equal(cache.size, 2);
    assert.ok(cache.bytes > 2 * 3000 + 2 * 1900, String(cache.bytes));
    assert.equal(cache.lookup('/p0', {}).urlKnown, false);
    assert.ok(cache.lookup('/p9', {}).entry);
  });
});

describe('response cache memory accounting', () => {
  it('counts the variant key, so a long varied value costs its bytes', () => {
    const cache = createResponseCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    cache.store(...entry('/v', 'body', { vary: 'accept-language' }, { 'accept-language': 'en' }));
    const short = cache.bytes;
    cache.store(...entry('/v', 'body', { vary: 'accept-language' }, { 'accept-language': 'x'.repeat(4000) }));
    assert.ok(cache.bytes - short >= short + 4000, `${short} then ${cache.bytes}`);
  });

  it('counts every entry at no less than the memory it really holds, policy and hot headers included', () => {
    // Headers as a page upstream sends them; each entry is also served once, so its hot head is built.
    const headers = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      etag: '"bench-1"',
      'last-modified': 'Sat, 21 Nov 2026 04:00:00 GMT',
      'content-length': '10240',
    };
    const cache = createResponseCache({ maxBytes: 1 << 30, maxEntryBytes: 1 << 20 });
    const count = 5000;
    collectGarbage();
    const before = process.memoryUsage();
    for (let i = 0; i < count; i += 1) {
      const url = `/news/2026/page-${i}`;
      const reqHeaders = { host: KEY_HOST, 'user-agent': 'reader' };
      const policy = policyFor({ url, method: 'GET', headers: reqHeaders }, { status: 200, headers: { ...headers } });
      cache.store({ url, path: url, status: 200, body: Buffer.alloc(10 * 1024), policy, vary: [] }, reqHeaders);
      hotHead(cache.get(url, reqHeaders)!, 1_000_000, 5);
    }
    collectGarbage();
    const after = process.memoryUsage();
    const held = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    assert.equal(cache.size, count);
    // Undercounting is what let RSS grow with the budget; overcounting by more than a fifth wastes the budget.
    assert.ok(cache.bytes >= held, `counted ${cache.bytes} < held ${held}`);
    assert.ok(cache.bytes <= held * 1.2, `counted ${cache.bytes} > 1.2 × held ${held}`);
  });
});
