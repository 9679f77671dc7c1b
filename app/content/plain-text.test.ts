import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainTextToHtml } from './plain-text';

describe('plain text as body HTML', () => {
  it('keeps paragraphs: a blank line starts a new one, a single line break stays a <br>', () => {
    assert.equal(
      plainTextToHtml('First line\nsecond line\n\nNew paragraph\r\n\r\n\r\n  Third  '),
      '<p>First line<br>second line</p><p>New paragraph</p><p>Third</p>',
    );
  });

  it('treats blank lines holding spaces as blank', () => {
    assert.equal(plainTextToHtml('One\n   \nTwo'), '<p>One</p><p>Two</p>');
  });

  it('escapes markup, so what a reader typed is what is shown', () => {
    assert.equal(
      plainTextToHtml('<script>alert(1)</script> & "quotes" \'too\''),
      '<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;</p>',
    );
  });

  it('gives nothing for nothing but whitespace', () => {
    assert.equal(plainTextToHtml(' \n\n \t\n'), '');
  });
});
