// The sanitizer against obfuscated XSS, with plain data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitizeBody } from './sanitize';

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
