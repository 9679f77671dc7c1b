import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePathRules, freshnessLifetime, pageKind, parseCacheControl, type FreshnessRules } from './freshness';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const DAY = 86_400;
const rules: FreshnessRules = {
  heuristicFactor: 0.1,
  minTtl: 5,
  maxTtl: DAY,
  indexTtl: 60,
  indexPaths: compilePathRules(['/', '/articles*', '/events*', '/tags/*', '/sections/*', '*.xml', '/feeds/*']),
};

function lifetime(path: string, headers: Record<string, string>, now = NOW) {
  return freshnessLifetime({ path, headers: { date: new Date(now).toUTCString(), ...headers }, now }, rules);
}

function ago(seconds: number): string {
  return new Date(NOW - seconds * 1000).toUTCString();
}

describe('freshness policy', () => {
  it('gives a page edited ten minutes ago a tenth of that: one minute', () => {
    assert.deepEqual(lifetime('/news/a', { 'last-modified': ago(600) }), { lifetime: 60, source: 'heuristic' });
  });

  it('caps a page untouched for a year at the maximum TTL', () => {
    assert.deepEqual(lifetime('/news/old', { 'last-modified': ago(365 * DAY) }), {
      lifetime: DAY,
      source: 'heuristic',
    });
  });

  it('raises a page edited seconds ago to the minimum TTL', () => {
    assert.equal(lifetime('/news/new', { 'last-modified': ago(10) }).lifetime, 5);
  });

  it('uses the configured factor', () => {
    const result = freshnessLifetime(
      { path: '/news/a', headers: { date: new Date(NOW).toUTCString(), 'last-modified': ago(1000) }, now: NOW },
      { ...rules, heuristicFactor: 0.5 },
    );
    assert.equal(result.lifetime, 500);
  });

  it('measures from the Date header, and from the injected clock when Date is missing', () => {
    const headers = { 'last-modified': ago(1000) };
    assert.equal(freshnessLifetime({ path: '/news/a', headers, now: NOW }, rules).lifetime, 100);
    assert.equal(freshnessLifetime({ path: '/news/a', headers, now: NOW + 1_000_000 }, rules).lifetime, 200);
  });

  it('falls back to the minimum without Last-Modified or when Last-Modified is in the future', () => {
    assert.deepEqual(lifetime('/news/a', {}), { lifetime: 5, source: 'none' });
    assert.equal(lifetime('/news/a', { 'last-modified': new Date(NOW + 60_000).toUTCString() }).lifetime, 5);
  });

  it('honours explicit max-age, s-maxage over max-age, and Expires, without clamping', () => {
    assert.deepEqual(lifetime('/news/a', { 'cache-control': 'max-age=7', 'last-modified': ago(DAY) }), {
      lifetime: 7,
      source: 'explicit',
    });
    assert.equal(lifetime('/news/a', { 'cache-control': 'max-age=7, s-maxage=900' }).lifetime, 900);
    assert.equal(lifetime('/news/a', { 'cache-control': 'max-age=' + 10 * DAY }).lifetime, 10 * DAY);
    assert.equal(lifetime('/news/a', { expires: new Date(NOW + 120_000).toUTCString() }).lifetime, 120);
    assert.equal(lifetime('/news/a', { expires: '0' }).lifetime, 0);
  });

  it('gives index pages by path rule the short fixed TTL, whatever their age', () => {
    for (const path of [
      '/',
      '/articles',
      '/articles/page/2',
      '/events/2026/06',
      '/tags/climate',
      '/sections/world',
      '/sitemap.xml',
      '/feeds/atom',
    ]) {
      assert.deepEqual(lifetime(path, { 'last-modified': ago(365 * DAY) }), { lifetime: 60, source: 'index' }, path);
    }
  });

  it('never keeps an index page longer than the upstream allows', () => {
    assert.equal(lifetime('/', { 'cache-control': 'max-age=10' }).lifetime, 10);
    assert.equal(lifetime('/', { 'cache-control': 'max-age=3600' }).lifetime, 60);
  });

  it('trusts the Hyperstatic-Kind header over path rules', () => {
    assert.equal(lifetime('/news/a', { 'hyperstatic-kind': 'index', 'last-modified': ago(DAY) }).source, 'index');
    assert.equal(lifetime('/news/a', { 'hyperstatic-kind': 'feed', 'last-modified': ago(DAY) }).lifetime, 60);
    assert.deepEqual(lifetime('/articles', { 'hyperstatic-kind': 'article', 'last-modified': ago(600) }), {
      lifetime: 60,
      source: 'heuristic',
    });
    assert.equal(lifetime('/tags/x', { 'hyperstatic-kind': 'media', 'last-modified': ago(100 * DAY) }).lifetime, DAY);
  });

  it('ignores an unknown kind and falls back to path rules', () => {
    assert.equal(pageKind('/tags/x', { 'hyperstatic-kind': 'bogus' }, rules.indexPaths), 'index');
    assert.equal(pageKind('/news/x', { 'hyperstatic-kind': 'bogus' }, rules.indexPaths), undefined);
  });

  it('gives nothing to responses that must be revalidated every time', () => {
    assert.equal(lifetime('/news/a', { 'cache-control': 'no-cache', 'last-modified': ago(DAY) }).lifetime, 0);
    assert.equal(lifetime('/', { 'cache-control': 'no-store' }).lifetime, 0);
    assert.equal(lifetime('/news/a', { vary: '*', 'last-modified': ago(DAY) }).lifetime, 0);
    assert.equal(lifetime('/news/a', { 'set-cookie': 'a=1', 'last-modified': ago(DAY) }).lifetime, 0);
    assert.equal(lifetime('/news/a', { 'set-cookie': 'a=1', 'cache-control': 'public, max-age=30' }).lifetime, 30);
  });

  it('keeps immutable responses without max-age for the maximum TTL', () => {
    assert.deepEqual(lifetime('/media/x.jpg', { 'cache-control': 'immutable' }), {
      lifetime: DAY,
      source: 'immutable',
    });
  });

  it('does not let a path rule match more than its glob says', () => {
    const [tags] = compilePathRules(['/tags/*']);
    assert.equal(tags.test('/tags/a'), true);
    assert.equal(tags.test('/tagsx'), false);
    const [xml] = compilePathRules(['*.xml']);
    assert.equal(xml.test('/sitemap.xml'), true);
    assert.equal(xml.test('/sitemapxxml'), false);
  });

  it('parses Cache-Control directives case-insensitively with quoted values', () => {
    const cc = parseCacheControl('Max-Age=5, no-cache="set-cookie", PUBLIC');
    assert.equal(cc.get('max-age'), '5');
    assert.equal(cc.get('no-cache'), 'set-cookie');
    assert.equal(cc.get('public'), true);
  });

  it('treats an Expires in a form RFC 9110 §5.6.7 does not define as already expired (RFC 9111 §5.3)', () => {
    const inAnHour = new Date(NOW + 3_600_000).toUTCString();
    assert.deepEqual(lifetime('/x', { expires: inAnHour }), { lifetime: 3600, source: 'explicit' });
    for (const invalid of [inAnHour.replace('GMT', 'UTC'), inAnHour.replace(',', ''), `${inAnHour}\n`, '0'])
      assert.deepEqual(lifetime('/x', { expires: invalid }), { lifetime: 0, source: 'explicit' }, invalid);
  });

  it('reads an RFC 850 Expires with a two-digit year in the right century (RFC 9110 §5.6.7)', () => {
    // Date.parse would read 50 as 1950: expired for 76 years.
    const now = Date.UTC(2049, 11, 31, 0, 0, 0);
    const expires = 'Saturday, 01-Jan-50 00:00:00 GMT';
    assert.deepEqual(lifetime('/x', { expires }, now), { lifetime: DAY, source: 'explicit' });
  });

  it('gives explicit freshness to any final status, heuristics only to heuristically cacheable ones (RFC 9110 §15.1, RFC 9111 §4.2.2)', () => {
    const at = (status: number, headers: Record<string, string>) =>
      freshnessLifetime(
        { path: '/x', status, headers: { date: new Date(NOW).toUTCString(), ...headers }, now: NOW },
        rules,
      );
    for (const status of [299, 400, 499, 503]) assert.equal(at(status, { 'cache-control': 'max-age=30' }).lifetime, 30);
    assert.deepEqual(at(400, { 'last-modified': ago(DAY) }), { lifetime: 0, source: 'none' });
    assert.equal(at(404, { 'last-modified': ago(600) }).lifetime, 60);
    assert.equal(at(299, { 'cache-control': 'public', 'last-modified': ago(600) }).lifetime, 60);
    // An index path rule is a heuristic too: a server error there gets no index TTL.
    assert.equal(at(503, {}).lifetime, 0);
    assert.equal(freshnessLifetime({ path: '/', status: 503, headers: {}, now: NOW }, rules).lifetime, 0);
  });

  it('takes freshness from the targeted field and ignores Expires when one decides (RFC 9213 §2.2)', () => {
    const expires = new Date(NOW + 3_600_000).toUTCString();
    assert.equal(lifetime('/x', { 'cache-control': 'max-age=5', 'cdn-cache-control': 'max-age=50' }).lifetime, 50);
    assert.equal(lifetime('/x', { expires, 'cdn-cache-control': 'public' }).lifetime, 5);
    assert.equal(lifetime('/x', { 'cache-control': 'no-store', 'hyperstatic-cache-control': 'max-age=7' }).lifetime, 7);
  });
});
