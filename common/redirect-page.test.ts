import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redirectContentType, redirectTarget, withoutRedirect } from './redirect-page';

describe('redirect pages in the content type', () => {
  it('carries a public path there and back', () => {
    const type = redirectContentType('/news/new-slug');
    assert.equal(type, 'text/html; charset=utf-8; hyperstatic-location="/news/new-slug"');
    assert.equal(redirectTarget(type), '/news/new-slug');
    assert.equal(withoutRedirect(type), 'text/html; charset=utf-8');
  });

  it('finds no target in an ordinary page', () => {
    assert.equal(redirectTarget('text/html; charset=utf-8'), undefined);
  });

  it('never names another site, a dot segment or a malformed path', () => {
    for (const target of ['//evil.example/x', 'https://evil.example/', '/news/../admin', 'news/x', '/a\\b'])
      assert.equal(redirectTarget(`text/html; hyperstatic-location="${target}"`), undefined, target);
    assert.throws(() => redirectContentType('//evil.example/x'), /not a public path/);
  });
});
