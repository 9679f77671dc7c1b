import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scriptJson } from './script-json';

describe('JSON in a script element', () => {
  it('cannot close the element or open a comment, and still parses to the same value', () => {
    const value = { headline: '</script><script>alert(1)</script> <!-- & \u2028' };
    const text = scriptJson(value);
    assert.doesNotMatch(text, /<|>|&|\u2028/);
    assert.deepEqual(JSON.parse(text), value);
  });
});
