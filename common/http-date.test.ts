import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHttpDate } from './http-date';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('HTTP-date parsing (RFC 9110 §5.6.7)', () => {
  it('reads an IMF-fixdate (RFC 9110 §5.6.7)', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), NOV_6_1994);
    assert.equal(parseHttpDate('  Sun, 06 Nov 1994 08:49:37 GMT '), NOV_6_1994, 'optional whitespace around the value');
  });

  it('reads the obsolete RFC 850 and asctime forms (RFC 9110 §5.6.7)', () => {
    const in2026 = Date.UTC(2026, 0, 1);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', in2026), NOV_6_1994);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), NOV_6_1994);
    assert.equal(parseHttpDate('Sun Nov 16 08:49:37 1994'), Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  it('reads a two-digit year more than 50 years ahead as the past century (RFC 9110 §5.6.7)', () => {
    const in2026 = Date.UTC(2026, 5, 1);
    // Date.parse reads "50" as 1950; 2050 is only 24 years ahead.
    assert.equal(parseHttpDate('Friday, 06-Nov-50 08:49:37 GMT', in2026), Date.UTC(2050, 10, 6, 8, 49, 37));
    assert.equal(parseHttpDate('Thursday, 06-Nov-76 08:49:37 GMT', in2026), Date.UTC(2076, 10, 6, 8, 49, 37));
    assert.equal(parseHttpDate('Sunday, 06-Nov-77 08:49:37 GMT', in2026), Date.UTC(1977, 10, 6, 8, 49, 37));
    assert.equal(parseHttpDate('Saturday, 06-Nov-99 08:49:37 GMT', in2026), Date.UTC(1999, 10, 6, 8, 49, 37));
    const in2080 = Date.UTC(2080, 0, 1);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', in2080), Date.UTC(2094, 10, 6, 8, 49, 37));
    assert.equal(parseHttpDate('Sunday, 06-Nov-29 08:49:37 GMT', in2080), Date.UTC(2129, 10, 6, 8, 49, 37));
  });

  it('refuses every form RFC 9110 §5.6.7 does not define, which Date.parse accepts', () => {
    for (const invalid of [
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun 06 Nov 1994 08:49:37 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994  08:49:37 GMT',
      'Sun, 06-Nov-1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 8:49:37 GMT',
      'Sun, 06 Nov 1994 08:49 GMT',
      'Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y',
      'Sun, 06 Nov 1994\n 08:49:37 GMT',
      'sun, 06 nov 1994 08:49:37 gmt',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      'Sun, 06 Nov 1994 08:49:37 +0000',
      '1994-11-06T08:49:37Z',
      '0',
      '-1',
      '',
    ]) {
      assert.equal(parseHttpDate(invalid), undefined, invalid);
    }
  });
});
