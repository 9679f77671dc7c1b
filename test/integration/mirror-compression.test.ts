// Compressed variants end to end (docs/mirrors.md, "Compressed variants"):
// the producer stores gzip and brotli encodings of every text page beside
// it, the feed carries them, and the mirror serves the one a request's
// Accept-Encoding selects, with per-variant validators, lengths and ranges;
// pages journaled without variants (older origins, older mirrors) are served
// as they are; a variant that does not decode to its signed page is dropped.
// Also the security headers every public page carries.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import { createDatabase } from '../../common/db/database';
import { sha256Hex } from '../../common/hash';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { rebuild } from '../../producer/rebuild';
import { openSqlite } from '../../mirrors/sqlite';
import { makeBatch, startFakeOrigin } from './mirror-fake-origin';
import { eventually, rawGet, startTestMirror, tempDir, type RawResponse } from './mirror-helpers';
import { embeddedTestConfig } from '../support/embedded-config';

const BOTH = { 'accept-encoding': 'gzip, deflate, br' };

function decoded(res: RawResponse): Buffer {
  const coding = res.headers['content-encoding'];
  if (coding === 'br') return zlib.brotliDecompressSync(res.body);
  if (coding === 'gzip') return zlib.gunzipSync(res.body);
  assert.equal(coding, undefined);
  return res.body;
}

function assertSecurityHeaders(res: RawResponse): void {
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /(^|; )default-src 'self'(;|$)/);
  assert.match(csp, /(^|; )script-src 'self'(;|$)/, 'no inline script, not even hashed');
  assert.match(csp, /(^|; )style-src 'self' 'sha256-[A-Za-z0-9+/]+={0,2}'(;|$)/);
  assert.match(csp, /(^|; )img-src 'self'(;|$)/);
  assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
}

describe('compressed variants through producer, feed and mirror', () => {
  let site: Embedded;
  let config: Config;

  before(async () => {
    ({ config } = await embeddedTestConfig('compression', {
      REDIS_URL: '',
      DATABASE_URL: '',
      MIRROR_RECONNECT_MS: '20',
      MIRROR_STATUS_INTERVAL_MS: '0',
    }));
    site = await startEmbedded(config);
    // The seeded site renders in the background after start.
    await eventually(async () => {
      assert.equal((await rawGet(site.mirrorUrl, '/feeds/site.rss.xml')).status, 200);
      assert.equal((await rawGet(site.mirrorUrl, '/')).status, 200);
    }, 60_000);
  });

  after(async () => {
    await site?.close();
  });

  test('every text page kind is served as br, gzip or identity, each decoding to the same bytes', async () => {
    for (const target of ['/', '/feeds/site.rss.xml', '/feeds/site.atom.xml', '/sitemap.xml']) {
      const identity = await rawGet(site.mirrorUrl, target);
      assert.equal(identity.status, 200, target);
      assert.equal(identity.headers['content-encoding'], undefined, `${target}: no Accept-Encoding, no coding`);
      assert.equal(identity.headers.vary, 'Accept-Encoding', `${target}: the identity answer varies too`);
      assert.equal(identity.headers.etag, `"${sha256Hex(identity.body)}"`);
      assert.equal(Number(identity.headers['content-length']), identity.body.length);

      const br = await rawGet(site.mirrorUrl, target, BOTH);
      assert.equal(br.headers['content-encoding'], 'br', target);
      assert.equal(br.headers.vary, 'Accept-Encoding');
      assert.equal(Number(br.headers['content-length']), br.body.length, 'Content-Length counts the encoded bytes');
      assert.ok(br.body.length < identity.body.length);
      assert.equal(br.headers.etag, `"${sha256Hex(br.body)}"`, 'a strong ETag of its own');
      assert.deepEqual(decoded(br), identity.body);

      const gzip = await rawGet(site.mirrorUrl, target, { 'accept-encoding': 'gzip' });
      assert.equal(gzip.headers['content-encoding'], 'gzip', target);
      assert.equal(gzip.headers.etag, `"${sha256Hex(gzip.body)}"`);
      assert.notEqual(gzip.headers.etag, br.headers.etag);
      assert.deepEqual(decoded(gzip), identity.body);
      for (const res of [identity, br, gzip])
        assert.equal(res.headers['content-type'], identity.headers['content-type']);
    }
    // The stylesheet too (text/css), named by its hash under /assets/.
    const home = (await rawGet(site.mirrorUrl, '/')).text;
    const css = /<link rel="stylesheet" href="([^"]+)"/.exec(home)?.[1];
    assert.ok(css, 'the home page links its stylesheet');
    const style = await rawGet(site.mirrorUrl, css, BOTH);
    assert.equal(style.headers['content-encoding'], 'br');
    assert.match(decoded(style).toString('utf8'), /body/);
  });

  test('q-values, q=0 refusals and identity are honoured', async () => {
    const get = (ae: string) => rawGet(site.mirrorUrl, '/', { 'accept-encoding': ae });
    assert.equal((await get('br;q=0, gzip')).headers['content-encoding'], 'gzip');
    assert.equal((await get('br;q=0.5, gzip;q=0.9')).headers['content-encoding'], 'gzip');
    assert.equal((await get('gzip;q=0.5, br')).headers['content-encoding'], 'br');
    assert.equal((await get('identity')).headers['content-encoding'], undefined);
    assert.equal((await get('identity;q=1, br;q=0.5')).headers['content-encoding'], undefined);
    assert.equal((await get('deflate, zstd')).headers['content-encoding'], undefined, 'codings we do not hold');
    assert.equal((await get('*')).headers['content-encoding'], 'br');
    const refused = await get('identity;q=0');
    assert.equal(refused.status, 406, 'identity refused and no coding named');
    assert.equal(refused.headers.vary, 'Accept-Encoding');
    assert.equal((await get('*;q=0, gzip')).headers['content-encoding'], 'gzip');
  });

  test('304 per variant: a validator matches only the representation it names', async () => {
    const br = await rawGet(site.mirrorUrl, '/', BOTH);
    const gzip = await rawGet(site.mirrorUrl, '/', { 'accept-encoding': 'gzip' });
    const brEtag = String(br.headers.etag);
    const again = await rawGet(site.mirrorUrl, '/', { ...BOTH, 'if-none-match': brEtag });
    assert.equal(again.status, 304);
    assert.equal(again.headers.etag, brEtag);
    assert.equal(again.headers.vary, 'Accept-Encoding');
    assert.equal(again.body.length, 0);
    // A client that now accepts only gzip holds no gzip copy: it gets the gzip bytes, not a 304.
    const other = await rawGet(site.mirrorUrl, '/', { 'accept-encoding': 'gzip', 'if-none-match': brEtag });
    assert.equal(other.status, 200);
    assert.equal(other.headers.etag, gzip.headers.etag);
    const plain = await rawGet(site.mirrorUrl, '/', { 'if-none-match': String(gzip.headers.etag) });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
  });

  test('a Range applies to the selected (compressed) representation, as RFC 9110 §14.1.2 says', async () => {
    const br = await rawGet(site.mirrorUrl, '/', BOTH);
    assert.equal(br.headers['accept-ranges'], 'bytes');
    const part = await rawGet(site.mirrorUrl, '/', { ...BOTH, range: 'bytes=10-29' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-encoding'], 'br');
    assert.equal(part.headers['content-range'], `bytes 10-29/${br.body.length}`);
    assert.equal(part.headers['content-length'], '20');
    assert.deepEqual(part.body, br.body.subarray(10, 30));
    const tail = await rawGet(site.mirrorUrl, '/', { 'accept-encoding': 'gzip', range: 'bytes=-5' });
    const gzip = await rawGet(site.mirrorUrl, '/', { 'accept-encoding': 'gzip' });
    assert.deepEqual(tail.body, gzip.body.subarray(gzip.body.length - 5));
    // If-Range with the br ETag while gzip is selected: the validator is not this representation's, so all of it.
    const mismatched = await rawGet(site.mirrorUrl, '/', {
      'accept-encoding': 'gzip',
      range: 'bytes=0-9',
      'if-range': String(br.headers.etag),
    });
    assert.equal(mismatched.status, 200);
    assert.deepEqual(mismatched.body, gzip.body);
    const beyond = await rawGet(site.mirrorUrl, '/', { ...BOTH, range: `bytes=${br.body.length}-` });
    assert.equal(beyond.status, 416);
  });

  test('public pages carry the security headers: pages, feeds, 404s', async () => {
    assertSecurityHeaders(await rawGet(site.mirrorUrl, '/'));
    assertSecurityHeaders(await rawGet(site.mirrorUrl, '/', BOTH));
    assertSecurityHeaders(await rawGet(site.mirrorUrl, '/feeds/site.rss.xml'));
    const missing = await rawGet(site.mirrorUrl, '/no/such/page');
    assert.equal(missing.status, 404);
    assertSecurityHeaders(missing);
  });

  test('rebuild adds variants to pages journaled without them, and journals nothing once they exist', async () => {
    const db = createDatabase(config.databaseUrl);
    try {
      // A page as a version before variants left it.
      await db('pages')
        .where({ path: '/' })
        .update({ gzip_sha256: null, gzip_size: null, br_sha256: null, br_size: null });
      const home = await db('pages').where({ path: '/' }).first('sha256', 'seq');
      const renderer = createRenderer(siteInfoOf(config));
      await rebuild({ db, renderer, restart: true });
      const after = await db('pages')
        .where({ path: '/' })
        .first('sha256', 'seq', 'gzip_sha256', 'br_sha256', 'br_size');
      assert.equal(after.sha256, home.sha256, 'the same bytes');
      assert.ok(after.seq > home.seq, 'journaled again, with its variants');
      assert.match(String(after.br_sha256), /^[0-9a-f]{64}$/);
      const blob = await db('blobs').where({ sha256: after.br_sha256 }).first('body');
      assert.equal(sha256Hex(zlib.brotliDecompressSync(Buffer.from(blob.body))), home.sha256);
      const head = Number((await db('cluster_state').first('journal_head')).journal_head);
      await rebuild({ db, renderer, restart: true });
      assert.equal(Number((await db('cluster_state').first('journal_head')).journal_head), head, 'nothing new');
      // The mirror receives them over the feed.
      await eventually(async () => {
        assert.equal((await rawGet(site.mirrorUrl, '/', BOTH)).headers['content-encoding'], 'br');
      }, 20_000);
    } finally {
      await db.destroy();
    }
  });
});

describe('pages without variants, and variants that do not decode to their page', () => {
  test('an origin that sends no variants: text served as it is, still with Vary', async () => {
    const o = await startFakeOrigin();
    o.publish(makeBatch(1, 1, [{ path: '/news/old', body: '<p>' + 'old news '.repeat(100) + '</p>' }]));
    const m = await startTestMirror({ origins: [o.url] });
    try {
      await m.waitForCursor(1, 5000);
      const res = await rawGet(m.url, '/news/old', BOTH);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.headers.etag, `"${sha256Hex(res.body)}"`);
      assert.equal((await rawGet(m.url, '/news/old', { 'accept-encoding': 'br, identity;q=0' })).status, 406);
    } finally {
      await m.close();
      await o.close();
    }
  });

  test('a forged variant (not the signed page) is dropped and never served; a true one is kept', async () => {
    const page = Buffer.from('<p>' + 'true story '.repeat(100) + '</p>');
    const built = makeBatch(1, 1, [{ path: '/news/x', body: page }]);
    const forged = zlib.gzipSync(Buffer.from('<p>forged</p>'));
    const br = zlib.brotliCompressSync(page);
    // Variants are not signed: added after signing, exactly as a hostile relay could.
    built.batch.entries[0].variants = {
      gzip: { sha256: sha256Hex(forged), size: forged.length },
      br: { sha256: sha256Hex(br), size: br.length, inline: br.toString('base64') },
    };
    built.blobs.set(sha256Hex(forged), forged);
    const o = await startFakeOrigin();
    o.publish(built);
    const m = await startTestMirror({ origins: [o.url] });
    try {
      await m.waitForCursor(1, 5000);
      const gzip = await rawGet(m.url, '/news/x', { 'accept-encoding': 'gzip' });
      assert.equal(gzip.headers['content-encoding'], undefined, 'the forged gzip is not served');
      assert.deepEqual(gzip.body, page);
      const good = await rawGet(m.url, '/news/x', BOTH);
      assert.equal(good.headers['content-encoding'], 'br');
      assert.deepEqual(zlib.brotliDecompressSync(good.body), page);
      assert.ok(!o.blobRequests.includes(sha256Hex(br)), 'the inline variant needed no fetch');
    } finally {
      await m.close();
      await o.close();
    }
  });

  test('a mirror whose index predates variants opens, gains the columns, and serves its pages', async () => {
    const dataDir = tempDir('old-mirror');
    const body = Buffer.from('<p>' + 'kept from before '.repeat(50) + '</p>');
    const sha = sha256Hex(body);
    fs.mkdirSync(path.join(dataDir, 'blobs', sha.slice(0, 2)), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'blobs', sha.slice(0, 2), sha), body);
    const db = openSqlite(path.join(dataDir, 'index.sqlite'));
    db.exec(`CREATE TABLE pages (path TEXT PRIMARY KEY, op TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
        content_type TEXT NOT NULL, last_modified INTEGER NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL);
      CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), cursor INTEGER NOT NULL, epoch INTEGER NOT NULL);
      INSERT INTO state (id, cursor, epoch) VALUES (1, 1, 1);
      CREATE TABLE journal (seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, batch INTEGER NOT NULL, path TEXT NOT NULL,
        op TEXT NOT NULL, sha256 TEXT, size INTEGER NOT NULL, content_type TEXT NOT NULL, last_modified INTEGER NOT NULL,
        kind TEXT NOT NULL);`);
    db.prepare('INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      '/news/kept',
      'put',
      sha,
      body.length,
      'text/html; charset=utf-8',
      Date.UTC(2025, 0, 1),
      'article',
      1,
    );
    db.close();
    const o = await startFakeOrigin();
    const m = await startTestMirror({ origins: [o.url], dataDir });
    try {
      const res = await rawGet(m.url, '/news/kept', BOTH);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], undefined);
      assert.deepEqual(res.body, body);
      // And it takes variants from then on.
      const next = Buffer.from('<p>' + 'new story '.repeat(60) + '</p>');
      const built = makeBatch(2, 2, [{ path: '/news/new', body: next }]);
      const gz = zlib.gzipSync(next);
      built.batch.entries[0].variants = { gzip: { sha256: sha256Hex(gz), size: gz.length } };
      built.blobs.set(sha256Hex(gz), gz);
      o.publish(built);
      await m.waitForCursor(2, 5000);
      const fresh = await rawGet(m.url, '/news/new', BOTH);
      assert.equal(fresh.headers['content-encoding'], 'gzip');
      assert.deepEqual(zlib.gunzipSync(fresh.body), next);
    } finally {
      await m.close();
      await o.close();
    }
  });
});
