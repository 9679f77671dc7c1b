// Takedown that removes (docs/design.md, "Change journal"): a real embedded
// site (app, producer, mirror, cache proxy) plus a second mirror following
// the origin. Hiding an article makes its page 410 everywhere AND its old
// body gone from every public place: /blobs/SHA answers 404 on the origin,
// on both mirrors and through the proxy, and neither the origin's nor a
// mirror's feed replayed from 0 names the old body or carries its bytes
// (only the purge entry names its hash, which is how mirrors drop it).
// Media go with it unless a visible item still shows them: an image only the
// hidden article showed leaves every public place, one another article
// shows stays until that one is hidden too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startEmbedded } from '../../bin/embedded';
import { keyFiles } from '../../app/feed/signing-keys';
import { loadConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import { startMirror, type RunningMirror } from '../../mirrors/main';
import { eventually } from './mirror-helpers';
import { replayFeed } from '../support/feed-replay';

type Site = Awaited<ReturnType<typeof startEmbedded>>;

async function statusOf(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

async function png(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** The hash each of `paths` serves now, from the origin's manifest. */
async function servedShas(appUrl: string, paths: string[]): Promise<string[]> {
  const lines = (await (await fetch(`${appUrl}/manifest`)).text()).split('\n').filter(Boolean);
  const byPath = new Map(
    lines.map((l) => JSON.parse(l) as { path?: string; sha256?: string }).map((e) => [e.path, e.sha256]),
  );
  return paths.map((p) => {
    const sha = byPath.get(p);
    assert.ok(sha, `the manifest lists ${p}`);
    return sha;
  });
}

describe('hiding an article removes its old body from every public place', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Site;
  let farMirror: RunningMirror;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-takedown-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      APP_PORT: '0',
      MIRROR_PORT: '0',
      PROXY_PORT: '0',
      LOG_LEVEL: 'warn',
      PROXY_ACCESS_LOG: 'false',
      MIRROR_STATUS_INTERVAL_MS: '0',
    });
    site = await startEmbedded(config);
    farMirror = await startMirror(
      loadConfig({
        LOG_LEVEL: 'warn',
        MIRROR_PORT: '0',
        MIRROR_DATA_DIR: path.join(dataDir, 'far-mirror'),
        MIRROR_ORIGIN_URLS: site.appUrl,
        MIRROR_PUBLIC_KEY: keyFiles(config.feedSigningKey).publicPath,
        MIRROR_STATUS_INTERVAL_MS: '0',
      }),
      { logger: createLogger('warn', 'far-mirror') },
    );
  });
  after(async () => {
    await farMirror?.close();
    await site?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 410 for the page and 404 for the old body on the origin, both mirrors and the proxy; no feed carries it', async () => {
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` };
    const secret = `Defamatory claim ${Date.now()} that must disappear`;
    const saved = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ title: 'A story to take down', body: `<p>${secret}</p>`, status: 'published' }),
    });
    assert.equal(saved.status, 201, await saved.clone().text());
    const { id, url } = (await saved.json()) as { id: number; url: string };
    const places = [site.mirrorUrl, farMirror.url, site.publicUrl];

    let oldBody = Buffer.alloc(0);
    let oldSha = '';
    await eventually(async () => {
      for (const base of places) assert.equal(await statusOf(`${base}${url}`), 200, base);
    }, 20_000);
    const manifest = await (await fetch(`${site.appUrl}/manifest`)).text();
    const line = JSON.parse(manifest.split('\n').find((l) => l.includes(`"path":"${url}"`)) as string) as {
      sha256: string;
      variants?: Record<string, { sha256: string }>;
    };
    oldSha = line.sha256;
    // Its gzip and brotli encodings hold the same words and must go with it.
    const variantShas = Object.values(line.variants ?? {}).map((v) => v.sha256);
    assert.equal(variantShas.length, 2, 'the page was journaled with its gzip and br variants');
    for (const sha of variantShas)
      for (const base of [site.appUrl, site.mirrorUrl, farMirror.url])
        assert.equal(await statusOf(`${base}/blobs/${sha}`), 200, `${base} holds variant ${sha} before the takedown`);
    // Cached as immutable by the proxy before the takedown: it must not outlive it.
    for (const base of [site.appUrl, ...places]) {
      const blob = await fetch(`${base}/blobs/${oldSha}`);
      assert.equal(blob.status, 200, `${base} serves the body before the takedown`);
      oldBody = Buffer.from(await blob.arrayBuffer());
    }
    assert.ok(oldBody.toString('utf8').includes(secret));

    const hidden = await fetch(`${site.appUrl}/api/moderation/articles/${id}`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ action: 'hide', reason: 'legal request' }),
    });
    assert.equal(hidden.status, 200, await hidden.clone().text());

    await eventually(async () => {
      assert.equal(await statusOf(`${site.appUrl}/blobs/${oldSha}`), 404, 'origin /blobs');
      for (const base of places) {
        assert.equal(await statusOf(`${base}${url}`), 410, `${base}${url}`);
        assert.equal(await statusOf(`${base}/blobs/${oldSha}`), 404, `${base}/blobs`);
      }
      for (const sha of variantShas)
        for (const base of [site.appUrl, ...places])
          assert.equal(await statusOf(`${base}/blobs/${sha}`), 404, `${base}/blobs/${sha} (a variant)`);
    }, 20_000);

    const head = Number(JSON.parse(manifest.split('\n')[0]).cursor);
    const { cursor } = JSON.parse((await (await fetch(`${site.appUrl}/manifest`)).text()).split('\n')[0]) as {
      cursor: number;
    };
    assert.ok(cursor > head);
    const inline = oldBody.toString('base64');
    for (const base of [site.appUrl, site.mirrorUrl, farMirror.url]) {
      await eventually(async () => {
        const { batches, text } = await replayFeed(base, cursor);
        const entries = batches.flatMap((b) => b.entries);
        assert.ok(
          entries.some((e) => e.op === 'purge' && e.sha256 === oldSha),
          `${base}: the purge entry is relayed: ${JSON.stringify(entries.map((e) => [e.seq, e.op, e.path]))}`,
        );
        assert.deepEqual(
          entries.filter((e) => e.sha256 === oldSha && e.op !== 'purge'),
          [],
          `${base}: no entry names the old body`,
        );
        for (const sha of variantShas) {
          assert.ok(
            entries.some((e) => e.op === 'purge' && e.sha256 === sha),
            `${base}: variant ${sha} is purged`,
          );
          assert.ok(
            !entries.some((e) => Object.values(e.variants ?? {}).some((v) => v.sha256 === sha)),
            `${base}: no entry names the old variant`,
          );
        }
        assert.ok(!text.includes(inline), `${base}: the old body is not inlined`);
        assert.ok(!text.includes(secret), `${base}: the old words are nowhere in the feed`);
      }, 10_000);
    }
    // The purged file is gone from the mirrors' disks too.
    for (const dir of [path.join(dataDir, 'far-mirror')]) {
      for (const sha of [oldSha, ...variantShas])
        assert.equal(fs.existsSync(path.join(dir, 'blobs', sha.slice(0, 2), sha)), false);
    }
  });

  it('removes an image only the hidden article showed and keeps one a visible article still shows, until that one is hidden too', async () => {
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` };
    const upload = async (name: string, bytes: Buffer) => {
      const res = await fetch(`${site.appUrl}/api/media?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${site.adminToken}` },
        body: new Uint8Array(bytes),
      });
      assert.equal(res.status, 201, await res.clone().text());
      const item = (await res.json()) as { sha256: string; path: string; renditionPath: string | null };
      assert.ok(item.renditionPath, `${name} has a WebP rendition`);
      return { sha256: item.sha256, paths: [item.path, item.renditionPath] };
    };
    const publish = async (title: string, body: string, leadImage?: string) => {
      const res = await fetch(`${site.appUrl}/api/articles`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ title, body, status: 'published', leadImage, leadImageAlt: leadImage && 'Smoke' }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { id: number; url: string };
    };
    const hide = async (id: number) => {
      const res = await fetch(`${site.appUrl}/api/moderation/articles/${id}`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ action: 'hide', reason: 'legal request' }),
      });
      assert.equal(res.status, 200, await res.clone().text());
    };
    const bodyAt = async (url: string) => {
      const res = await fetch(url);
      return { status: res.status, text: await res.text() };
    };
    const places = [site.mirrorUrl, farMirror.url, site.publicUrl];
    const everywhere = [site.appUrl, ...places];
    const farDisk = (sha: string) => path.join(dataDir, 'far-mirror', 'blobs', sha.slice(0, 2), sha);

    const x = await upload('lead.png', await png(960, 640, '#b7322c'));
    const y = await upload('quay.png', await png(800, 600, '#2c7a7b'));
    const figure = `<figure><img src="${y.paths[0]}" alt="The quay"></figure>`;
    const a = await publish('Harbour fire', `<p>Smoke over the quay.</p>${figure}`, x.sha256);
    const b = await publish('Harbour rebuilt', `<p>Cranes on the quay.</p>${figure}`);
    await eventually(async () => {
      for (const base of places) {
        const pageA = await bodyAt(`${base}${a.url}`);
        assert.equal(pageA.status, 200, `${base}${a.url}`);
        assert.ok(pageA.text.includes(`src="${x.paths[0]}"`) && pageA.text.includes(`src="${y.paths[0]}"`));
        const pageB = await bodyAt(`${base}${b.url}`);
        assert.equal(pageB.status, 200, `${base}${b.url}`);
        assert.ok(pageB.text.includes(`src="${y.paths[0]}"`));
      }
    }, 20_000);
    const xShas = await servedShas(site.appUrl, x.paths);
    const yShas = await servedShas(site.appUrl, y.paths);
    assert.equal(xShas[0], x.sha256, 'the original is served under its own hash');
    // Fetched once everywhere first, so the proxy holds them (immutable) and must evict them.
    for (const base of everywhere)
      for (const sha of [...xShas, ...yShas]) assert.equal(await statusOf(`${base}/blobs/${sha}`), 200, base);
    for (const base of places)
      for (const p of [...x.paths, ...y.paths]) assert.equal(await statusOf(`${base}${p}`), 200, `${base}${p}`);

    await hide(a.id);
    await eventually(async () => {
      for (const base of everywhere)
        for (const sha of xShas) assert.equal(await statusOf(`${base}/blobs/${sha}`), 404, `${base}/blobs/${sha}`);
      for (const base of places) {
        assert.equal(await statusOf(`${base}${a.url}`), 410, `${base}${a.url}`);
        for (const p of x.paths) assert.ok([404, 410].includes(await statusOf(`${base}${p}`)), `${base}${p}`);
      }
    }, 20_000);
    for (const base of everywhere)
      for (const sha of yShas) assert.equal(await statusOf(`${base}/blobs/${sha}`), 200, `${base} still serves Y`);
    for (const base of places) {
      for (const p of y.paths) assert.equal(await statusOf(`${base}${p}`), 200, `${base}${p}`);
      const pageB = await bodyAt(`${base}${b.url}`);
      assert.equal(pageB.status, 200);
      assert.ok(pageB.text.includes(`src="${y.paths[0]}"`), `${base}${b.url} still shows Y`);
    }
    for (const sha of xShas) assert.equal(fs.existsSync(farDisk(sha)), false, `the far mirror dropped ${sha}`);
    for (const sha of yShas) assert.equal(fs.existsSync(farDisk(sha)), true, `the far mirror keeps ${sha}`);

    await hide(b.id);
    await eventually(async () => {
      for (const base of everywhere)
        for (const sha of yShas) assert.equal(await statusOf(`${base}/blobs/${sha}`), 404, `${base}/blobs/${sha}`);
      for (const base of places) {
        assert.equal(await statusOf(`${base}${b.url}`), 410, `${base}${b.url}`);
        for (const p of y.paths) assert.ok([404, 410].includes(await statusOf(`${base}${p}`)), `${base}${p}`);
      }
    }, 20_000);
    for (const sha of yShas) assert.equal(fs.existsSync(farDisk(sha)), false, `the far mirror dropped ${sha}`);
  });
});
