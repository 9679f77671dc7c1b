import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshnessHeader, withBanner } from './frozen-banner';

const SINCE = Date.UTC(2026, 11, 7, 3, 34, 13, 250);

describe('the frozen-copy notice', () => {
  test('goes right after the body tag, naming the instant for people (to the minute) and machines (to the second)', () => {
    const page = Buffer.from(
      '<!doctype html><html><head></head><body class="x"><a class="skip">Skip</a></body></html>',
    );
    const out = withBanner(page, SINCE).toString('utf8');
    assert.match(
      out,
      /<body class="x"><p class="hs-frozen" role="status"[^>]*>[^<]*<time [^>]*>[^<]*<\/time>\.<\/p><a class="skip">/,
    );
    // Its style in the head, as an element the Content-Security-Policy allows by hash (no style attributes).
    assert.match(out, /<head><style>\.hs-frozen\{[^<]*<\/style><\/head>/);
    assert.doesNotMatch(out, /style="/);
    assert.match(out, /not confirmed it since <time datetime="2026-12-07T03:34:13Z"[^>]*>2026-12-07 03:34 UTC<\/time>/);
    assert.equal(freshnessHeader(SINCE), 'frozen; since="Mon, 07 Dec 2026 03:34:13 GMT"');
  });

  test('leaves a page without a body tag unchanged', () => {
    const fragment = Buffer.from('<p>no body here</p>');
    assert.equal(withBanner(fragment, SINCE), fragment);
  });
});
