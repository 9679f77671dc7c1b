// Media uploads against real MariaDB: streamed to disk, type sniffed from
// the content, size-limited, content-addressed, AVIF and WebP renditions for images,
// and distributed like pages once a published item shows them (journal
// entries of kind 'media', bytes at /blobs/:sha256; before that, nowhere). Lies about type, path tricks and oversize files are
// refused with a 4xx and leave nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { sha256Hex } from '../../common/hash';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

const LIMIT = 64 * 1024;

async function png(width: number, height: number, colour = '#c33'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

describe('media uploads', () => {
  let origin: EditorOrigin;
  let web: WebClient;

  before(async () => {
    origin = await startEditorOrigin('editor_media', { MEDIA_MAX_BYTES: String(LIMIT) });
    web = new WebClient(origin.url);
    await web.login('editor1');
  });
  after(async () => {
    await origin?.close();
  });

  async function upload(name: string, bytes: Buffer, options: { csrf?: string | null; type?: string } = {}) {
    await web.get('/editor/media');
    const form = new FormData();
    if (options.csrf !== null) form.append('_csrf', options.csrf ?? web.csrf());
    form.append('file', new Blob([new Uint8Array(bytes)], { type: options.type ?? 'application/octet-stream' }), name);
    return web.request('POST', '/editor/media', form);
  }
  const mediaRows = async () => Number((await origin.db('media').count({ n: '*' }))[0].n);
  const storedFiles = async () => (await fs.readdir(origin.mediaDir)).filter((f) => f !== 'tmp');
  const tmpFiles = async () => fs.readdir(path.join(origin.mediaDir, 'tmp')).catch(() => []);

  it('stores an image under its sha256 with AVIF and WebP renditions, and journals and serves them as blobs once a published article shows it', async () => {
    const bytes = await png(1200, 800);
    const sha = sha256Hex(bytes);
    const res = await upload('photo.png', bytes);
    assert.equal(res.status, 303);
    assert.equal(res.location!.split('?')[0], `/editor/media/${sha}`);
    const row = await origin.db('media').where({ sha256: sha }).first();
    assert.equal(row.content_type, 'image/png');
    assert.equal(row.path, `/media/${sha}.png`);
    assert.equal(Number(row.width), 1200);
    assert.equal(
      row.rendition_path,
      `/media/${sha}-640.webp`,
      'the editor lists the narrowest WebP at least 480 px wide',
    );
    const stored = await fs.readFile(path.join(origin.mediaDir, sha));
    assert.equal(sha256Hex(stored), sha);

    const journaled = () => origin.db('journal').where('path', 'like', `/media/${sha}%`).orderBy('seq');
    assert.deepEqual(await journaled(), [], 'an upload no published item shows is not journaled');
    const unshown = await fetch(`${origin.url}/blobs/${sha}`);
    await unshown.arrayBuffer();
    assert.equal(unshown.status, 404, 'nor served to mirrors');
    const draft = await fetch(`${origin.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${origin.tokens.editor}` },
      body: JSON.stringify({ title: 'Photo draft', body: `<p><img src="${row.path}" alt="p"></p>` }),
    });
    assert.equal(draft.status, 201);
    assert.deepEqual(await journaled(), [], 'a draft showing it does not publish it');
    const { id } = (await draft.json()) as { id: number };
    const published = await fetch(`${origin.url}/api/articles/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${origin.tokens.editor}` },
      body: JSON.stringify({ status: 'published' }),
    });
    assert.equal(published.status, 200);

    const entries = await journaled();
    const renditions = [320, 640, 1200].flatMap((w) => [`/media/${sha}-${w}.avif`, `/media/${sha}-${w}.webp`]);
    assert.deepEqual(
      entries.map((e) => [e.path, e.kind, e.op]),
      [row.path, ...renditions].map((p) => [p, 'media', 'put']),
    );
    assert.equal(new Set(entries.map((e) => e.batch)).size, 1, 'original and renditions form one batch');

    const blob = await fetch(`${origin.url}/blobs/${sha}`);
    assert.equal(blob.status, 200);
    assert.equal(
      blob.headers.get('content-type'),
      'application/octet-stream',
      'the origin never serves an upload with an executable type',
    );
    assert.equal(sha256Hex(Buffer.from(await blob.arrayBuffer())), sha);
    const rendition = await fetch(`${origin.url}/blobs/${entries[4].sha256}`);
    const meta = await sharp(Buffer.from(await rendition.arrayBuffer())).metadata();
    assert.equal(entries[4].path, `/media/${sha}-640.webp`);
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 640);
    assert.equal(meta.height, 427);

    const page = await web.get(res.location!);
    assert.match(page.text, /photo\.png/);
    assert.match(page.text, /&lt;figure&gt;&lt;img src=&quot;\/media\/[0-9a-f]{64}\.png&quot;/);
  });

  it('stores the same bytes once however often they are uploaded', async () => {
    const bytes = await png(20, 20, '#3c3');
    await upload('a.png', bytes);
    await upload('b.png', bytes);
    assert.equal((await fs.readdir(origin.mediaDir)).filter((f) => f === sha256Hex(bytes)).length, 1);
    assert.equal(
      Number(
        (
          await origin
            .db('media')
            .where({ sha256: sha256Hex(bytes) })
            .count({ n: '*' })
        )[0].n,
      ),
      1,
    );
  });

  it('refuses files whose content is not a media type, whatever their name and declared type say', async () => {
    const rows = await mediaRows();
    const files = await storedFiles();
    const lies: [string, Buffer, string][] = [
      ['innocent.jpg', Buffer.from('<html><script>alert(1)</script></html>'), 'image/jpeg'],
      [
        'vector.png',
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        'image/svg+xml',
      ],
      ['clip.mp4', Buffer.from('#!/bin/sh\nrm -rf /\n'), 'video/mp4'],
      ['song.mp3', Buffer.from('MZ\x90\x00 windows executable'), 'audio/mpeg'],
      ['empty.png', Buffer.alloc(0), 'image/png'],
    ];
    for (const [name, bytes, type] of lies) {
      const res = await upload(name, bytes, { type });
      assert.equal(res.status, 415, `${name} must be refused`);
      assert.match(res.text, /not an image, audio or video|empty/);
    }
    assert.equal(await mediaRows(), rows);
    assert.deepEqual(await storedFiles(), files);
    assert.deepEqual(await tmpFiles(), [], 'no temporary file is left behind');
  });

  it('ignores path tricks in the upload name: the file lands under its hash, the name is kept only for display', async () => {
    const bytes = await png(30, 30, '#33c');
    const sha = sha256Hex(bytes);
    const rows = await mediaRows();
    const nul = await upload('evil\u0000.png', bytes);
    assert.ok(nul.status >= 400 && nul.status < 500, 'a NUL in the name is refused');
    assert.equal(await mediaRows(), rows);
    const res = await upload('../../../../etc/passwd.png', bytes);
    assert.equal(res.status, 303);
    const row = await origin.db('media').where({ sha256: sha }).first();
    assert.equal(row.original_name, 'passwd.png');
    assert.deepEqual(
      (await storedFiles()).filter((f) => !/^[0-9a-f]{64}$/.test(f)),
      [],
      'only hash-named files in the media folder',
    );
    await assert.rejects(fs.access(path.join(origin.mediaDir, '..', 'etc')));
    const windows = await upload('..\\..\\windows\\evil<script>.png', await png(31, 31));
    assert.equal(windows.status, 303);
    const named = await origin
      .db('media')
      .where({ sha256: sha256Hex(await png(31, 31)) })
      .first();
    assert.equal(named.original_name, 'evilscript.png');
  });

  it('refuses a file over MEDIA_MAX_BYTES with 413 and keeps nothing of it', async () => {
    const rows = await mediaRows();
    const files = await storedFiles();
    const big = Buffer.concat([await png(10, 10), Buffer.alloc(LIMIT)]);
    const res = await upload('big.png', big);
    assert.equal(res.status, 413);
    assert.equal(await mediaRows(), rows);
    assert.deepEqual(await storedFiles(), files);
    assert.deepEqual(await tmpFiles(), []);
  });

  it('refuses an upload without the CSRF token before storing any of it', async () => {
    const rows = await mediaRows();
    const res = await upload('nocsrf.png', await png(12, 12), { csrf: null });
    assert.equal(res.status, 403);
    const wrong = await upload('wrongcsrf.png', await png(13, 13), { csrf: 'x'.repeat(32) });
    assert.equal(wrong.status, 403);
    assert.equal(await mediaRows(), rows);
  });

  it('accepts a raw upload through the API with a token, sniffing the type', async () => {
    const bytes = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(200, 1)]);
    const res = await fetch(`${origin.url}/api/media?name=${encodeURIComponent('talk.mp3')}`, {
      method: 'POST',
      body: bytes,
      headers: { authorization: `Bearer ${origin.tokens.editor}`, 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 201);
    const item = (await res.json()) as { sha256: string; kind: string; contentType: string; path: string };
    assert.equal(item.kind, 'audio');
    assert.equal(item.contentType, 'audio/mpeg');
    assert.equal(item.path, `/media/${sha256Hex(bytes)}.mp3`);
    const moderator = await fetch(`${origin.url}/api/media`, {
      method: 'POST',
      body: bytes,
      headers: { authorization: `Bearer ${origin.tokens.moderator}` },
    });
    assert.equal(moderator.status, 403);
    const tooBig = await fetch(`${origin.url}/api/media`, {
      method: 'POST',
      body: Buffer.alloc(LIMIT + 1),
      headers: { authorization: `Bearer ${origin.tokens.editor}` },
    });
    assert.equal(tooBig.status, 413);
  });

  it('serves an uploaded image to the editor preview with its sniffed type and a sandboxing CSP', async () => {
    const row = await origin
      .db('media')
      .join('pages', 'pages.path', 'media.path')
      .where({ 'media.content_type': 'image/png', 'pages.op': 'put' })
      .first('media.path');
    const res = await fetch(`${origin.url}${row.path}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal((await fetch(`${origin.url}/media/..%2f..%2fetc%2fpasswd`)).status, 400);
  });

  it('shows an image no published item shows yet to signed-in accounts only, never for a shared cache', async () => {
    const bytes = await png(30, 30, '#93c');
    await upload('held.png', bytes);
    const held = `/media/${sha256Hex(bytes)}.png`;
    const anonymous = await fetch(`${origin.url}${held}`);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 404);
    const editor = await web.get(held);
    assert.equal(editor.status, 200);
    assert.equal(editor.headers.get('cache-control'), 'private, no-store');
  });
});
