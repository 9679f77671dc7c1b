import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripXmlForbidden } from './xml-text';

describe('XML text', () => {
  it('drops C0 controls, unpaired surrogates and noncharacters, keeping tab, line breaks and paired surrogates', () => {
    assert.equal(stripXmlForbidden('a\u0000b\u0001c\u001bd\u000be'), 'abcde');
    assert.equal(stripXmlForbidden('x\ud800y\udc00z\uffff'), 'xyz');
    assert.equal(stripXmlForbidden('t\tn\nr\r 🌧 é'), 't\tn\nr\r 🌧 é');
  });
});
