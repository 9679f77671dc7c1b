// Content sniffing of uploads and upload display names, with plain data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanFileName, sniff } from './sniff';

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
