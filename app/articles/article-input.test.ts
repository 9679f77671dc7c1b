import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../errors';
import { parseArticleInput, parseTagName } from './article-input';
import { sanitizeBody } from '../content/sanitize';
import { slugify } from '../content/slug';

function refusal(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BadRequestError);
    return error;
  }
  assert.fail('expected a BadRequestError');
}

describe('article input', () => {
  it('requires title and body when creating, nothing when updating', () => {
    assert.equal(refusal(() => parseArticleInput({ body: 'x' }, 'create')).field, 'title');
    assert.equal(refusal(() => parseArticleInput({ title: 'x' }, 'create')).field, 'body');
    assert.deepEqual(parseArticleInput({}, 'update'), {});
  });

  it('refuses unknown fields, wrong types and overlong values, naming the field', () => {
    assert.match(
      refusal(() => parseArticleInput({ title: 't', body: 'b', extra: 1 }, 'create')).message,
      /unknown field: extra/,
    );
    assert.equal(refusal(() => parseArticleInput({ title: 5, body: 'b' }, 'create')).field, 'title');
    assert.equal(refusal(() => parseArticleInput({ title: 't'.repeat(301), body: 'b' }, 'create')).field, 'title');
    assert.equal(refusal(() => parseArticleInput({ title: '   ', body: 'b' }, 'create')).field, 'title');
    assert.equal(refusal(() => parseArticleInput({ title: 't', body: 'b', status: 'live' }, 'create')).field, 'status');
    assert.equal(refusal(() => parseArticleInput({ title: 't', body: 'b', slug: 'Bad Slug' }, 'create')).field, 'slug');
    assert.equal(
      refusal(() => parseArticleInput({ title: 't', body: 'b', tags: Array(21).fill('x') }, 'create')).field,
      'tags',
    );
    assert.equal(refusal(() => parseArticleInput([], 'create')).message, 'the request body must be a JSON object');
  });

  it('refuses characters XML cannot carry (controls, unpaired surrogates), naming the field and the character', () => {
    const ok = { title: 't', body: 'b' };
    for (const [field, value] of [
      ['title', 'Bell\u0001'],
      ['title', 'Escape \u001b[31m'],
      ['title', 'NUL\u0000'],
      ['title', 'two\nlines'],
      ['title', 'lone \ud800 surrogate'],
      ['summary', 'sum\u000b'],
      ['summary', 'half a pair \udc00'],
      ['body', '<p>x\u0008</p>'],
      ['body', '<p>\uffff</p>'],
      ['section', 'news\u0007'],
      ['leadImageAlt', 'alt\ud83d'],
    ] as const) {
      const error = refusal(() => parseArticleInput({ ...ok, [field]: value }, 'create'));
      assert.equal(error.field, field, `${field} ${JSON.stringify(value)}`);
    }
    assert.match(
      refusal(() => parseArticleInput({ ...ok, title: 'a\u001bb' }, 'create')).message,
      /U\+001B\) at position 2/,
    );
    assert.match(refusal(() => parseArticleInput({ ...ok, tags: ['x\u0001'] }, 'create')).message, /tags/);
    // Multi-line text keeps what a textarea sends; paired surrogates (emoji) are whole characters.
    const input = parseArticleInput(
      { title: 'Rain 🌧 tomorrow', summary: 'line one\r\nline\ttwo', body: '<p>a</p>\n<p>b</p>' },
      'create',
    );
    assert.equal(input.title, 'Rain 🌧 tomorrow');
    assert.equal(input.summary, 'line one\r\nline\ttwo');
  });

  it('refuses tag names with markup or path characters', () => {
    for (const bad of ['<script>', 'a/b', '..\\x', 'a"b', 'x?y', 'x#y', '%2e', ''])
      assert.throws(() => parseTagName(bad), BadRequestError, bad);
    assert.equal(parseTagName('  Press   freedom '), 'Press freedom');
  });

  it('dedupes tags and keeps valid fields', () => {
    const input = parseArticleInput(
      { title: ' Hello ', body: '<p>x</p>', tags: ['A', 'A', 'B'], featured: true, section: 'news' },
      'create',
    );
    assert.deepEqual(input, { title: 'Hello', body: '<p>x</p>', tags: ['A', 'B'], featured: true, section: 'news' });
  });
});

describe('slugs', () => {
  it('are lowercase ASCII words joined by hyphens', () => {
    assert.equal(slugify('Über die Brücke: 3 Tage!'), 'uber-die-brucke-3-tage');
    assert.equal(slugify('---'), '');
    assert.ok(slugify('x'.repeat(500)).length <= 120);
  });
});

describe('body sanitizing', () => {
  it('removes scripts, event handlers, javascript: URLs, iframes, SVG and styles', () => {
    const dirty = [
      '<p onclick="x()">a<script>alert(1)</script></p>',
      '<img src="https://x/y.png" onerror="alert(1)">',
      '<a href="javascript:alert(1)">j</a>',
      '<iframe src="https://evil"></iframe>',
      '<svg><script>alert(1)</script></svg>',
      '<p style="background:expression(alert(1))">s</p>',
    ].join('');
    const clean = sanitizeBody(dirty);
    for (const bad of ['script', 'onerror', 'onclick', 'javascript:', 'iframe', 'svg', 'style', 'expression'])
      assert.doesNotMatch(clean, new RegExp(bad, 'i'), bad);
    assert.match(clean, /<img src="https:\/\/x\/y.png" \/>/);
    assert.match(clean, /<p>a<\/p>/);
  });
});
