import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { movedTo, parseRequestPath } from './request-path';

describe('parseRequestPath', () => {
  test('maps published paths as-is and splits off the query', () => {
    assert.deepEqual(parseRequestPath('/'), { ok: true, path: '/', query: '' });
    assert.deepEqual(parseRequestPath('/articles/my-slug/?utm=x'), {
      ok: true,
      path: '/articles/my-slug/',
      query: 'utm=x',
    });
    assert.deepEqual(parseRequestPath('/media/photo.jpg'), { ok: true, path: '/media/photo.jpg', query: '' });
  });

  test('decodes exactly once', () => {
    assert.deepEqual(parseRequestPath('/articles/caf%C3%A9/'), { ok: true, path: '/articles/café/', query: '' });
    // %252e decodes to the literal text "%2e", which is not a publishable path.
    assert.equal(parseRequestPath('/%252e%252e/').ok, false);
  });

  test('refuses dot segments, plain or encoded', () => {
    for (const target of ['/../etc/passwd', '/a/../b', '/./a', '/%2e%2e/x', '/%2E%2E/x', '/a/%2e/b', '/a/..']) {
      assert.equal(parseRequestPath(target).ok, false, target);
    }
  });

  test('refuses encoded separators, backslashes, NUL and control characters', () => {
    for (const target of ['/a%2fb', '/a%2Fb', '/a%5cb', '/a\\b', '/a%00', '/a%0a', '/a%7f']) {
      assert.equal(parseRequestPath(target).ok, false, target);
    }
  });

  test('refuses empty segments, malformed escapes and non-absolute targets', () => {
    for (const target of ['//etc/passwd', '/a//b', '/%zz', '/%', 'http://evil.example/', '*', '', undefined]) {
      assert.equal(parseRequestPath(target).ok, false, String(target));
    }
  });
});

describe('movedTo', () => {
  const held = new Set(['/sections/news', '/articles/x/', '/news/flood-watch', '/']);
  const exists = (p: string) => held.has(p);

  test('drops a trailing slash, adds the directory slash, and lowers the case of a path the index lacks', () => {
    assert.equal(movedTo('/sections/news/', exists), '/sections/news');
    assert.equal(movedTo('/articles/x', exists), '/articles/x/');
    assert.equal(movedTo('/Sections/News', exists), '/sections/news');
    assert.equal(movedTo('/News/Flood-Watch/', exists), '/news/flood-watch');
  });

  test('has no answer for a path that is missing in every form', () => {
    assert.equal(movedTo('/sections/sport/', exists), undefined);
    assert.equal(movedTo('/nowhere', exists), undefined);
    assert.equal(movedTo('/', exists), undefined);
  });
});
