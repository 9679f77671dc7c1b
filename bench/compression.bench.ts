// Bytes on the wire per page kind, served by a mirror as identity (what
// every reader got before compressed variants), gzip and brotli (docs/
// benchmarks.md, "Compression"). The embedded site (app, producer, mirror)
// is given a generated archive (HS_BENCH_COMPRESSION_ARTICLES, 400 by
// default), rebuilt so every page is journaled with its variants, and up to
// 20 pages of each kind are fetched from the mirror three times: with no
// Accept-Encoding, with `gzip`, and with `gzip, deflate, br` (a browser's).
// Each decoded body is checked against the identity one.
//   npm run bench -- compression
import fs from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startEmbedded } from '../bin/embedded';
import { loadConfig } from '../common/config';
import { createDatabase } from '../common/db/database';
import type { ManifestPage } from '../common/feed-format';
import { migrateLatest } from '../app/db/migrate';
import { generateSite } from '../fixtures/generate';
import { rebuild } from '../producer/rebuild';
import { createRenderer } from '../producer/renderer';
import { report, type Row } from './report';

const ARTICLES = Number(process.env.HS_BENCH_COMPRESSION_ARTICLES ?? 400);
const PER_KIND = 20;

const KINDS: [string, RegExp][] = [
  ['home', /^\/$/],
  ['article', /^\/news\/[^/]+$/],
  ['section listing', /^\/sections\/[^/]+$/],
  ['archive page', /^\/articles\/\d{4}-\d{2}(\/\d+)?$/],
  ['tag page', /^\/tags\/[^/]+$/],
  ['feed RSS', /^\/feeds\/.*\.rss\.xml$/],
  ['feed Atom', /^\/feeds\/.*\.atom\.xml$/],
  ['sitemap', /^\/sitemaps?[/.].*xml$/],
  ['stylesheet', /^\/assets\/.*\.css$/],
];

interface Wire {
  body: Buffer;
  /** Status line and header fields as sent, CRLFs included. */
  headerBytes: number;
  coding?: string;
  etag?: string;
}

async function get(url: string, acceptEncoding?: string): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let headerBytes = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length + 2;
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          headerBytes += Buffer.byteLength(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`);
        if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
        else
          resolve({
            body: Buffer.concat(chunks),
            headerBytes,
            coding: res.headers['content-encoding'],
            etag: res.headers.etag,
          });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function decode(wire: Wire): Buffer {
  if (wire.coding === 'br') return zlib.brotliDecompressSync(wire.body);
  if (wire.coding === 'gzip') return zlib.gunzipSync(wire.body);
  return wire.body;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-compression-'));
  const config = loadConfig({
    DATA_DIR: dir,
    APP_PORT: '0',
    MIRROR_PORT: '0',
    PROXY_PORT: '0',
    LOG_LEVEL: process.env.HS_BENCH_LOG_LEVEL ?? 'warn',
    REDIS_URL: '',
    DATABASE_URL: '',
    MIRROR_STATUS_INTERVAL_MS: '0',
  });
  // Generated and rebuilt before the site starts: one SQLite writer at a time.
  const db = createDatabase(config.databaseUrl);
  await migrateLatest(db);
  await generateSite(db, { articles: ARTICLES, seed: 7, now: Date.now() });
  const started = Date.now();
  const renderer = createRenderer({ name: config.siteName, publicUrl: config.publicUrl });
  const rebuilt = await rebuild({ db, renderer, restart: true });
  const rebuildSeconds = (Date.now() - started) / 1000;
  await db.destroy();
  const site = await startEmbedded(config);
  try {
    // The mirror bootstraps from the origin's manifest (variants included) and follows the feed:
    // wait until it serves the last page journaled, compressed.
    // The seeded sample site renders after start too: wait for the journal to rest (same cursor 2 s apart).
    let pages: ManifestPage[] = [];
    let cursor = -1;
    for (;;) {
      const lines = (await (await fetch(`${site.appUrl}/manifest`)).text()).trim().split('\n');
      const now = (JSON.parse(lines[0]) as { cursor: number }).cursor;
      pages = lines.slice(1, -1).map((line) => JSON.parse(line) as ManifestPage);
      const last = pages.reduce((a, b) => (b.seq > a.seq ? b : a));
      const served = await get(`${site.mirrorUrl}${last.path}`, 'br').catch(() => undefined);
      // Its newest version: the ETag names the bytes sent (the br variant's hash).
      if (now === cursor && served && served.etag === `"${last.variants?.br?.sha256 ?? last.sha256}"`) break;
      cursor = now;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const paths = pages.filter((p) => p.op === 'put').map((p) => p.path);
    const rows: Row[] = [];
    for (const [kind, pattern] of KINDS) {
      const picked = paths.filter((p) => pattern.test(p)).slice(0, PER_KIND);
      if (picked.length === 0) continue;
      const sum = { identity: 0, gzip: 0, br: 0, wireIdentity: 0, wireBr: 0 };
      for (const p of picked) {
        const identity = await get(`${site.mirrorUrl}${p}`).catch(async (e: Error) => {
          const entry = pages.find((x) => x.path === p);
          const again = (await fetch(`${site.appUrl}/manifest`)).text();
          throw new Error(
            `${e.message} ${JSON.stringify(entry)} now: ${(await again).split('\n').find((l) => l.includes(`"${p}"`))}`,
          );
        });
        const gzip = await get(`${site.mirrorUrl}${p}`, 'gzip');
        const br = await get(`${site.mirrorUrl}${p}`, 'gzip, deflate, br');
        for (const w of [gzip, br])
          if (!decode(w).equals(identity.body)) throw new Error(`${p}: the ${w.coding} body is not the page`);
        if (gzip.coding !== 'gzip' || br.coding !== 'br')
          throw new Error(`${p}: not compressed (${gzip.coding}/${br.coding})`);
        sum.identity += identity.body.length;
        sum.gzip += gzip.body.length;
        sum.br += br.body.length;
        sum.wireIdentity += identity.body.length + identity.headerBytes;
        sum.wireBr += br.body.length + br.headerBytes;
      }
      const n = picked.length;
      rows.push({
        kind,
        pages: n,
        'identity B': Math.round(sum.identity / n),
        'gzip B': Math.round(sum.gzip / n),
        'br B': Math.round(sum.br / n),
        'gzip %': (100 * sum.gzip) / sum.identity,
        'br %': (100 * sum.br) / sum.identity,
        'wire identity B': Math.round(sum.wireIdentity / n),
        'wire br B': Math.round(sum.wireBr / n),
      });
    }
    report(
      'compression',
      `Bytes per page kind from a mirror (mean body bytes; wire = body + status line and headers), ${ARTICLES} generated articles; gzip level 9, brotli quality 11`,
      rows,
      { articles: ARTICLES, rebuildSeconds, pagesRebuilt: rebuilt },
    );
    process.stdout.write(`rebuild of the whole site with variants: ${rebuildSeconds.toFixed(1)} s\n`);
  } finally {
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
