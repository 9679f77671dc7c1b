import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeNext } from './auth-routes';

describe('login redirect', () => {
  it('only redirects to editor paths after login', () => {
    assert.equal(safeNext('/editor/articles/3'), '/editor/articles/3');
    for (const bad of [
      'https://evil.example/',
      '//evil.example/editor',
      '/editor/../../x',
      '/\\evil.example',
      'javascript:alert(1)',
      '/editorx',
      undefined,
      ['/editor'],
    ]) {
      const next = safeNext(bad);
      assert.ok(
        next === '/editor' || (next.startsWith('/editor/') && !next.includes('..')),
        `${String(bad)} -> ${next}`,
      );
    }
  });
});
