// Pure pieces of the editor app, tested with plain data: the sanitizer
// against obfuscated XSS, content sniffing of uploads, upload display names,
// the post-login redirect guard, and the propagation summary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitizeBody } from '../../app/articles/sanitize';
import { cleanFileName, sniff } from '../../app/media/sniff';
import { tokensMatch } from '../../app/auth/sessions';
import { safeNext } from '../../app/ui/auth-routes';
import { summarize } from '../../app/content/propagation';

describe('sanitizer against obfuscated payloads', () => {
  const cases: [string, RegExp[]][] = [
    ['<a href="JaVaScRiPt:alert(1)">x</a>', [/javascript/i]],
    ['<a href="&#106;avascript:alert(1)">x</a>', [/avascript/i, /&#106;/]],
    ['<a href="java\nscript:alert(1)">x</a>', [/script:/i]],
    ['<a href="  javascript:alert(1)">x</a>', [/javascript/i]],
    ['<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', [/data:/]],
    ['<img src="data:image/svg+xml,<svg onload=alert(1)>">', [/data:/, /onload/]],
    ['<img src=x onerror=alert(1)//>', [/onerror/]],
    ['<img """><script>alert(1)</script>">', [/<script/]],
    ['<video poster="javascript:alert(1)" src="https://x/v.mp4"></video>', [/javascript/]],
    ['<source src="javascript:alert(1)">', [/javascript/]],
    ['<svg><use href="data:image/svg+xml,<svg id=x onload=alert(1)>#x"/></svg>', [/<svg/, /<use/, /onload/]],
    [
      '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=alert(1)&gt;">',
      [/<img src=1/, /onerror=alert\(1\)>/],
    ],
    [
      '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example"><link rel=stylesheet href=https://evil.example/x.css>',
      [/<base/, /<meta/, /<link/],
    ],
    [
      '<style>@import "https://evil.example/x.css"; body{background:url(javascript:alert(1))}</style>',
      [/<style/, /@import/, /javascript/],
    ],
    ['<p style="behavior:url(x.htc);-moz-binding:url(x.xml#xss)">x</p>', [/style=/, /behavior/, /binding/]],
    [
      '<button formaction="javascript:alert(1)">x</button><iframe srcdoc="<script>alert(1)</script>"></iframe>',
      [/formaction/, /srcdoc/, /<iframe/, /<button/],
    ],
    ['<a href="//evil.example/">protocol-relative</a>', [/evil\.example/]],
  ];
  for (const [dirty, forbidden] of cases) {
    it(`neutralizes ${dirty.slice(0, 60)}`, () => {
      const clean = sanitizeBody(dirty);
      for (const bad of forbidden) assert.doesNotMatch(clean, bad, `${JSON.stringify(clean)} must not match ${bad}`);
    });
  }

  it('keeps ordinary article markup and media from the library', () => {
    const html =
      '<h2>Head</h2><p>A <a href="https://example.org/x">link</a> and <em>stress</em>.</p><figure><img src="/media/abc.jpg" alt="A" width="10" height="5" /><figcaption>Cap</figcaption></figure><audio controls src="/media/a.mp3"></audio>';
    const clean = sanitizeBody(html);
    assert.match(clean, /<a href="https:\/\/example.org\/x" rel="noopener nofollow">link<\/a>/);
    assert.match(clean, /<img src="\/media\/abc.jpg" alt="A" width="10" height="5" \/>/);
    assert.match(clean, /<audio controls src="\/media\/a.mp3"><\/audio>/);
  });

  it('keeps media attributes only with safe values: pixel sizes, audio/video source types, players with controls', () => {
    const clean = sanitizeBody(
      [
        '<img src="/media/a.jpg" width="640" height="auto" loading="sync" alt="a">',
        '<video src="/media/v.mp4" width="50%" preload="auto" muted playsinline autoplay poster="/media/p.jpg"></video>',
        '<audio><source src="/media/a.ogg" type="audio/ogg"><source src="/media/b" type="text/html; charset=utf-8"></audio>',
        '<video poster="data:image/svg+xml,&lt;svg onload=alert(1)&gt;" src="/v.mp4"></video>',
      ].join(''),
    );
    assert.equal(
      clean,
      [
        '<img src="/media/a.jpg" width="640" alt="a" />',
        '<video src="/media/v.mp4" preload="auto" muted playsinline poster="/media/p.jpg" controls></video>',
        '<audio controls><source src="/media/a.ogg" type="audio/ogg" /><source src="/media/b" /></audio>',
        '<video src="/v.mp4" controls></video>',
      ].join(''),
    );
  });
});

describe('upload type sniffing', () => {
  const head = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  it('recognizes accepted formats by their magic numbers', () => {
    const table: [Buffer, string][] = [
      [head([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
      [head([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'image/png'],
      [head('GIF89a'), 'image/gif'],
      [head('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
      [head('RIFF', [0, 0, 0, 0], 'WAVEfmt '), 'audio/wav'],
      [head([0, 0, 0, 0x1c], 'ftypavif'), 'image/avif'],
      [head([0, 0, 0, 0x20], 'ftypisom'), 'video/mp4'],
      [head([0, 0, 0, 0x20], 'ftypM4A '), 'audio/mp4'],
      [head([0, 0, 0, 0x14], 'ftypqt  '), 'video/quicktime'],
      [head([0x1a, 0x45, 0xdf, 0xa3]), 'video/webm'],
      [head('OggS'), 'audio/ogg'],
      [head('fLaC'), 'audio/flac'],
      [head('ID3'), 'audio/mpeg'],
      [head([0xff, 0xfb, 0x90]), 'audio/mpeg'],
    ];
    for (const [bytes, type] of table) assert.equal(sniff(bytes)?.contentType, type, type);
  });

  it('refuses markup, scripts and executables whatever they are called', () => {
    for (const text of [
      '<svg xmlns="http://www.w3.org/2000/svg">',
      '<!doctype html><script>',
      '%PDF-1.7',
      'MZ\x90\x00',
      '\x7fELF',
      '#!/bin/sh',
      'PK\x03\x04',
      '',
    ]) {
      assert.equal(sniff(Buffer.from(text, 'latin1')), undefined, JSON.stringify(text));
    }
    assert.equal(sniff(head([0, 0, 0, 0x20], 'ftypheic')), undefined, 'unknown ISO-BMFF brands are refused');
  });

  it('keeps only a printable last path segment of an upload name', () => {
    assert.equal(cleanFileName('../../etc/passwd'), 'passwd');
    assert.equal(cleanFileName('C:\\Users\\x\\photo.jpg'), 'photo.jpg');
    assert.equal(cleanFileName('a\u202egpj.exe'), 'agpj.exe', 'bidi overrides are removed');
    assert.equal(cleanFileName('...'), 'upload');
    assert.equal(cleanFileName(undefined), 'upload');
    assert.equal(cleanFileName('x'.repeat(500)).length, 200);
  });
});

describe('editor helpers', () => {
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

  it('summarizes propagation the way editors read it', () => {
    assert.equal(summarize('queued', 5, null, 0), 'saved; waiting for the renderer');
    assert.equal(summarize('rendered', null, [], 0), 'not on the public site (never published)');
    assert.equal(summarize('rendered', 7, null, 0), 'rendered; no mirror has reported its status');
    const mirrors = [
      { name: 'a', live: true, lagSeconds: 0, reporting: true },
      { name: 'b', live: true, lagSeconds: 0, reporting: true },
      { name: 'c', live: false, lagSeconds: 14, reporting: true },
    ];
    assert.equal(summarize('rendered', 7, mirrors, 2), 'live on 2/3 mirrors, 1 lagging 14 s');
    assert.equal(summarize('rendered', 8, mirrors, 2, 'gone'), 'removed (410) on 2/3 mirrors, 1 lagging 14 s');
  });

  it('refuses a CSRF token of the right length in characters but not in bytes, rather than throwing', () => {
    const token = 'a'.repeat(32);
    assert.equal(tokensMatch(token, token), true);
    // timingSafeEqual throws on buffers of different byte lengths: a 500 for a forged form instead of a 403.
    for (const given of [
      `${'a'.repeat(31)}\u00e9`,
      `${'a'.repeat(31)}\u{1F600}`.slice(0, 32),
      'a'.repeat(31),
      ['a'.repeat(32)],
      undefined,
    ]) {
      assert.equal(tokensMatch(token, given), false, JSON.stringify(given));
    }
  });
});
