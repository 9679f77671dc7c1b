// Responsive images end to end on the embedded site (app, producer, mirror,
// proxy): an upload gets AVIF and WebP renditions in several widths, never
// wider than the image, journaled with the original so the mirror serves each
// with its content type; an image that does not decode is refused with a 415
// and leaves nothing behind; `hyperstatic media renditions` gives an upload
// from before renditions existed its set, once; `bundle export` carries them.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import { createDatabase, type Database } from '../../common/db/database';
import { bundleFileOf } from '../../common/bundle-format';
import { sha256Hex } from '../../common/hash';
import { journalMedia } from '../../app/media/media-journal';
import { waitFor } from '../harness/wait';
import { runCli } from '../support/cli';
import { embeddedTestConfig } from '../support/embedded-config';

interface Uploaded {
  sha256: string;
  path: string;
  width: number;
  height: number;
  renditions: { path: string; contentType: string; width: number; height: number }[];
}

/** A photo-like JPEG (a gradient: compresses like a picture, not like a flat colour). */
async function photo(width: number, height: number): Promise<Buffer> {
  const svg = `<svg width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#2b6cb0"/><stop offset="1" stop-color="#f6ad55"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/><circle cx="${width / 3}" cy="${height / 2}" r="${height / 4}" fill="#22543d"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

describe('responsive images', () => {
  let site: Embedded;
  let config: Config;
  let dataDir: string;
  let db: Database;
  let token: string;

  before(async () => {
    ({ dataDir, config } = await embeddedTestConfig('images'));
    site = await startEmbedded(config);
    token = site.adminToken!;
    db = createDatabase(config.databaseUrl);
  });
  after(async () => {
    await db?.destroy();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const upload = (name: string, bytes: Buffer) =>
    fetch(`${site.appUrl}/api/media?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: new Uint8Array(bytes),
    });
  const publish = async (title: string, leadImage: string) => {
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, body: '<p>Text.</p>', status: 'published', leadImage, leadImageAlt: title }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { url: string };
  };
  const mirrored = (p: string) =>
    waitFor(
      async () => {
        const res = await fetch(`${site.mirrorUrl}${p}`);
        return res.status === 200 ? res : undefined;
      },
      { what: `the mirror to serve ${p}` },
    );

  it('makes 320/640/960/1280 px AVIF and WebP renditions, journals them with the original once a published article shows it, and the mirror serves each with its type', async () => {
    const res = await upload('harbour.jpg', await photo(2400, 1600));
    assert.equal(res.status, 201, await res.clone().text());
    const image = (await res.json()) as Uploaded;
    assert.deepEqual(
      image.renditions.map((r) => [r.contentType, r.width, r.height]),
      [320, 640, 960, 1280].flatMap((w) => [
        ['image/avif', w, Math.round((w * 2) / 3)],
        ['image/webp', w, Math.round((w * 2) / 3)],
      ]),
    );
    const journaled = () => db('journal').where('path', 'like', `/media/${image.sha256}%`).orderBy('seq');
    assert.deepEqual(await journaled(), [], 'nothing goes out before a published item shows the image');
    await publish('Harbour at dawn', image.sha256);
    const entries = await journaled();
    assert.equal(entries.length, 9, 'the original and eight renditions, with the item that shows them');
    assert.equal(new Set(entries.map((e) => e.batch)).size, 1, 'in one batch');
    for (const r of image.renditions) {
      const served = await mirrored(r.path);
      assert.equal(served.headers.get('content-type'), r.contentType, `${r.path} is served as ${r.contentType}`);
      const body = Buffer.from(await served.arrayBuffer());
      const meta = await sharp(body).metadata();
      assert.equal(meta.format, r.contentType === 'image/avif' ? 'heif' : 'webp');
      assert.equal(meta.width, r.width);
      const entry = entries.find((e) => e.path === r.path);
      assert.equal(sha256Hex(body), entry.sha256, 'content-addressed: the bytes hash to the journaled sha256');
    }
    const original = await mirrored(image.path);
    assert.equal(original.headers.get('content-type'), 'image/jpeg');
  });

  it('never enlarges: a 200 px image gets renditions 200 px wide and no wider', async () => {
    const res = await upload('icon.jpg', await photo(200, 150));
    assert.equal(res.status, 201);
    const image = (await res.json()) as Uploaded;
    assert.deepEqual(
      image.renditions.map((r) => [r.contentType, r.width, r.height]),
      [
        ['image/avif', 200, 150],
        ['image/webp', 200, 150],
      ],
    );
  });

  it('refuses an image that does not decode with a 415 naming the file, and stores nothing', async () => {
    const good = await photo(800, 600);
    // A JPEG's first bytes (it passes the type sniff), then noise where the picture should be.
    const broken = Buffer.concat([good.subarray(0, 64), Buffer.alloc(4000, 0x5a)]);
    const filesBefore = await fsp.readdir(config.mediaDir);
    const head = await db('cluster_state').first('journal_head');
    const res = await upload('broken.jpg', broken);
    assert.equal(res.status, 415);
    const error = (await res.json()) as { error: { code: string; message: string; field: string } };
    assert.equal(error.error.code, 'HS_UNSUPPORTED_MEDIA_TYPE');
    assert.equal(error.error.field, 'file');
    assert.match(error.error.message, /^file: .*does not decode.*nothing was stored/);
    assert.equal(
      await db('media')
        .where({ sha256: sha256Hex(broken) })
        .first(),
      undefined,
      'no media row',
    );
    assert.deepEqual(await fsp.readdir(config.mediaDir), filesBefore, 'no file in the media folder');
    assert.deepEqual(await fsp.readdir(path.join(config.mediaDir, 'tmp')), [], 'no temporary file left');
    assert.deepEqual(await db('cluster_state').first('journal_head'), head, 'no journal entry');
  });

  it('gives an upload from before renditions existed its set with `hyperstatic media renditions`, once; pages offer it after a rebuild', async () => {
    // As the old upload code left it: the file under its hash, journaled, a row with no renditions listed.
    const bytes = await photo(1000, 500);
    const sha256 = sha256Hex(bytes);
    await fsp.writeFile(path.join(config.mediaDir, sha256), bytes);
    const at = Date.now();
    await db('media').insert({
      sha256,
      kind: 'image',
      content_type: 'image/jpeg',
      path: `/media/${sha256}.jpg`,
      size: bytes.length,
      original_name: 'old.jpg',
      width: 1000,
      height: 500,
      created_at: at,
    });
    await journalMedia(
      db,
      [{ path: `/media/${sha256}.jpg`, sha256, size: bytes.length, contentType: 'image/jpeg', lastModified: at }],
      at,
    );
    const article = await publish('Old photo', sha256);
    const before = await waitFor(
      async () => {
        const html = await (await fetch(`${site.mirrorUrl}${article.url}`)).text();
        return html.includes(`/media/${sha256}.jpg`) ? html : undefined;
      },
      { what: 'the article with its old lead image' },
    );
    assert.ok(!before.includes('<source'), 'no renditions to offer yet');

    const first = await runCli(['media', 'renditions', '--json'], { env: env() });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /made renditions for 1 images; run `hyperstatic rebuild`/);
    assert.equal(JSON.parse(first.stdout.trim().split('\n').pop()!).made, 1);
    const row = await db('media').where({ sha256 }).first();
    const listed = JSON.parse(row.renditions) as Uploaded['renditions'];
    assert.deepEqual(
      listed.map((r) => `${r.contentType} ${r.width}x${r.height}`),
      [
        'image/avif 320x160',
        'image/webp 320x160',
        'image/avif 640x320',
        'image/webp 640x320',
        'image/avif 1000x500',
        'image/webp 1000x500',
      ],
    );
    for (const r of listed) assert.equal((await mirrored(r.path)).headers.get('content-type'), r.contentType);
    const head = await db('cluster_state').first('journal_head');

    const again = await runCli(['media', 'renditions'], { env: env() });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /every image already has its renditions/);
    assert.deepEqual(await db('cluster_state').first('journal_head'), head, 'a second run journals nothing');

    const rebuilt = await runCli(['rebuild'], { env: env() });
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    const html = await waitFor(
      async () => {
        const body = await (await fetch(`${site.mirrorUrl}${article.url}`)).text();
        return body.includes('<source type="image/avif"') ? body : undefined;
      },
      { what: 'the rebuilt article to offer the renditions' },
    );
    assert.ok(html.includes(`/media/${sha256}-640.webp 640w`));
  });

  it('bundle export carries every rendition, byte for byte', async () => {
    const out = path.join(os.tmpdir(), `hs-images-bundle-${process.pid}`);
    await fsp.rm(out, { recursive: true, force: true });
    try {
      const res = await runCli(['bundle', 'export', out], { env: env() });
      assert.equal(res.code, 0, res.stderr);
      const renditions = await db('pages').where({ kind: 'media', op: 'put' }).select('path', 'sha256');
      assert.ok(renditions.length >= 20, `every media path (${renditions.length}) is in the bundle`);
      for (const r of renditions) {
        const body = await fsp.readFile(path.join(out, bundleFileOf(r.path)));
        assert.equal(sha256Hex(body), r.sha256, r.path);
      }
      const publicKey = path.join(dataDir, 'keys', 'feed-ed25519.pub');
      const verified = await runCli(['bundle', 'verify', out, '--public-key', publicKey], { env: env() });
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    } finally {
      await fsp.rm(out, { recursive: true, force: true });
    }
  });
});
