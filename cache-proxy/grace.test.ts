import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCacheControl } from './cache-directives';
import { graceFor, parseGraceRules, type GraceLimits } from './grace';

const UPSTREAMS = ['http://mirror-a:8081', 'http://cms.internal:8080/site/'];

function limits(rules = '', maxSwr = 600, maxSie = 259_200): GraceLimits {
  return { rules: parseGraceRules(rules, UPSTREAMS), maxStaleWhileRevalidate: maxSwr, maxStaleIfError: maxSie };
}

describe('grace: when a stale copy may be served', () => {
  it('allows no stale use where neither the origin nor an operator rule allows it (RFC 9111 §4.2.4)', () => {
    assert.deepEqual(graceFor(parseCacheControl('max-age=60'), '/a', 'http://mirror-a:8081', limits()), {
      whileRevalidate: 0,
      ifError: 0,
    });
  });

  it("takes the origin's stale-while-revalidate and stale-if-error, capped by the configured maximum (RFC 5861 §3, §4)", () => {
    const cc = parseCacheControl('max-age=60, Stale-While-Revalidate=30, stale-if-error=999999');
    assert.deepEqual(graceFor(cc, '/a', undefined, limits()), { whileRevalidate: 30, ifError: 259_200 });
    assert.deepEqual(graceFor(cc, '/a', undefined, limits('', 10, 100)), { whileRevalidate: 10, ifError: 100 });
  });

  it('lets the first matching operator rule, by upstream or path, set the values it names (RFC 9111 §4.2.4)', () => {
    const rules = limits(
      'upstream=http://cms.internal:8080/site stale-if-error=86400; path=/media/* stale-while-revalidate=60; path=/* stale-if-error=5',
    );
    const origin = parseCacheControl('max-age=60, stale-while-revalidate=20');
    assert.deepEqual(graceFor(origin, '/a', 'http://cms.internal:8080/site', rules), {
      whileRevalidate: 20,
      ifError: 86_400,
    });
    assert.deepEqual(graceFor(origin, '/media/x.jpg', 'http://mirror-a:8081', rules), {
      whileRevalidate: 60,
      ifError: 0,
    });
    assert.deepEqual(graceFor(origin, '/b', 'http://mirror-a:8081', rules), { whileRevalidate: 20, ifError: 5 });
  });

  it('never serves stale past must-revalidate, proxy-revalidate, no-cache or s-maxage, whatever a rule says (RFC 9111 §4.2.4)', () => {
    for (const cc of ['max-age=60, must-revalidate', 'proxy-revalidate', 'no-cache', 's-maxage=60'])
      assert.deepEqual(
        graceFor(parseCacheControl(`${cc}, stale-if-error=60`), '/a', undefined, limits('path=/* stale-if-error=600')),
        { whileRevalidate: 0, ifError: 0 },
        cc,
      );
  });

  it('refuses a malformed PROXY_GRACE_RULES with a message naming the rule and the fault', () => {
    const cases: [string, RegExp][] = [
      ['path=/* stale=5', /rule 1 .*unknown setting "stale=5"/],
      ['stale-if-error=5', /rule 1 .*exactly one of upstream= or path=/],
      ['path=/a upstream=http://mirror-a:8081 stale-if-error=5', /exactly one of/],
      ['path=/*', /give stale-while-revalidate= or stale-if-error=/],
      ['path=/* stale-if-error=1.5', /stale-if-error must be a whole number of seconds/],
      [
        'path=/a stale-if-error=5; upstream=http://elsewhere:80 stale-if-error=5',
        /rule 2 .*not one of PROXY_UPSTREAMS/,
      ],
      ['path=a* stale-if-error=5', /path= must start with/],
      ['path=/a stale-if-error=5 stale-if-error=6', /given twice/],
    ];
    for (const [raw, message] of cases) assert.throws(() => parseGraceRules(raw, UPSTREAMS), message, raw);
    assert.deepEqual(parseGraceRules(' ; ', UPSTREAMS), []);
  });
});
