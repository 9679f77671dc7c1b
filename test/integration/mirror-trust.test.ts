// What a mirror trusts: only batches and manifests signed by the pinned
// origin key; blobs only when they hash to their name. Bootstrap from the
// manifest, `mirror verify --repair`, `keys init` and status reports, against
// the real origin (embedded mode) and fake peers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { keyFiles } from '../../app/feed/signing-keys';
import { addMirrorCredential } from '../../app/feed/mirror-credentials';
import { mirrorStatuses } from '../../app/feed/mirror-status';
import type { Config } from '../../common/config';
import { createDatabase } from '../../common/db/database';
import { createLogger } from '../../common/logger';
import { createBlobFetcher } from '../../mirrors/blob-fetcher';
import { MirrorStore } from '../../mirrors/mirror-store';
import { loadPinnedKey } from '../../mirrors/pinned-key';
import { TrustState } from '../../common/trust/trust-state';
import { keyIdOf, TrustError } from '../../common/trust/statements';
import { openSqlite } from '../../mirrors/sqlite';
import { verifyMirror } from '../../mirrors/verify';
import { startFaultyLink } from '../support/faulty-link';
import { verifyBatchTrust } from '../../common/feed-format';
import { sha256Hex } from '../../common/hash';
import { makeBatch, startFakeOrigin, TEST_FEED_KEYS } from './mirror-fake-origin';
import { eventually, rawGet, startTestMirror } from './mirror-helpers';
import { embeddedTestConfig } from '../support/embedded-config';
import { runCli } from '../support/cli';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');

async function metric(url: string, name: string): Promise<number> {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(await (await fetch(`${url}/metrics`)).text());
  return match ? Number(match[1]) : 0;
}

describe('mirror trust: signatures, manifests, repair', () => {
  let site: Embedded;
  let config: Config;
  let publicKeyFile: string;

  before(async () => {
    ({ config } = await embeddedTestConfig('mirror-trust', {
      REDIS_URL: '',
      DATABASE_URL: '',
      MIRROR_RECONNECT_MS: '20',
      MIRROR_STATUS_INTERVAL_MS: '0',
    }));
    site = await startEmbedded(config);
    publicKeyFile = keyFiles(config.feedSigningKey).publicPath;
  });

  after(async () => {
    await site?.close();
  });

  test('the origin key pair is created owner-only and `keys init` keeps an existing pair', () => {
    assert.equal(fs.statSync(config.feedSigningKey).mode & 0o077, 0, 'the private key is readable by its owner only');
    const before = fs.readFileSync(config.feedSigningKey, 'utf8');
    const out = execFileSync(process.execPath, [CLI, 'keys', 'init'], {
      env: { ...process.env, DATA_DIR: config.dataDir },
    }).toString();
    assert.match(out, /already exists/);
    assert.match(out, /MIRROR_PUBLIC_KEY=[A-Za-z0-9+/]{43}=/);
    assert.equal(fs.readFileSync(config.feedSigningKey, 'utf8'), before);
  });

  test('a mirror without a usable pinned key refuses to start, naming MIRROR_PUBLIC_KEY', async () => {
    await assert.rejects(
      startTestMirror({ origins: [site.appUrl], env: { MIRROR_PUBLIC_KEY: path.join(config.dataDir, 'no-such.pub') } }),
      /MIRROR_PUBLIC_KEY/,
    );
    await assert.rejects(
      startTestMirror({
        origins: [site.appUrl],
        env: { MIRROR_PUBLIC_KEY: 'bm90IGEga2V5IGF0IGFsbCwganVzdCBzb21lIHRleHQgaGVyZQ==' },
      }),
      /MIRROR_PUBLIC_KEY/,
    );
  });

  test('an empty mirror bootstraps from the signed manifest, then follows the feed', async () => {
    const manifestHead = async () =>
      JSON.parse((await (await fetch(`${site.appUrl}/manifest`)).text()).split('\n')[0]) as {
        cursor: number;
        pages: number;
      };
    // The seeded site renders in the background after start (slower on a loaded machine): wait until its journal rests.
    let head = await manifestHead();
    await eventually(async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await manifestHead();
      const settled = now.cursor === head.cursor && now.pages > 10;
      head = now;
      assert.ok(settled, 'the seeded site has pages');
    }, 30_000);
    const mirror = await startTestMirror({ origins: [site.appUrl], env: { MIRROR_PUBLIC_KEY: publicKeyFile } });
    try {
      await mirror.waitForCursor(head.cursor, 10_000);
      const store = (await (await fetch(`${mirror.internalUrl}/_mirror/manifest`)).text()).trim().split('\n');
      assert.equal(store.length - 2, head.pages, 'every page of the manifest is on the mirror');
      const res = await fetch(`${site.appUrl}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
        body: JSON.stringify({ title: `After bootstrap ${Date.now()}`, body: '<p>fresh</p>', status: 'published' }),
      });
      const { url } = (await res.json()) as { url: string };
      await eventually(async () => assert.equal((await rawGet(mirror.url, encodeURI(url))).status, 200), 10_000);
    } finally {
      await mirror.close();
    }
  });

  test('a manifest altered on the way is refused and nothing of it is applied', async () => {
    const link = await startFaultyLink(site.appUrl);
    // Same length: the stream still parses, only the signature can tell.
    const altered = link.replaceOnce('down', '"kind":"article"', '"kind":"index"  ');
    const mirror = await startTestMirror({
      origins: [link.url],
      env: { MIRROR_PUBLIC_KEY: publicKeyFile, MIRROR_BOOTSTRAP: 'true' },
    });
    try {
      await altered;
      await eventually(
        async () => assert.ok((await metric(mirror.internalUrl, 'hyperstatic_mirror_signature_rejections_total')) >= 1),
        5000,
      );
      // It falls back to replaying the signed feed and still ends up complete.
      const { cursor } = JSON.parse((await (await fetch(`${site.appUrl}/manifest`)).text()).split('\n')[0]) as {
        cursor: number;
      };
      await mirror.waitForCursor(cursor, 15_000);
    } finally {
      await mirror.close();
      await link.close();
    }
  });

  test('`mirror verify --repair` restores a corrupted blob and a tampered index entry from the signed manifest', async () => {
    const mirror = await startTestMirror({ origins: [site.appUrl], env: { MIRROR_PUBLIC_KEY: publicKeyFile } });
    const { cursor } = JSON.parse((await (await fetch(`${site.appUrl}/manifest`)).text()).split('\n')[0]) as {
      cursor: number;
    };
    await mirror.waitForCursor(cursor, 10_000);
    await mirror.close();
    const store = MirrorStore.open(mirror.dataDir);
    const logger = createLogger('silent', 'verify');
    const fetcher = createBlobFetcher({ store, sources: () => [site.appUrl], logger });
    try {
      const home = store.lookup('/');
      assert.ok(home);
      fs.writeFileSync(store.blobPath(home.sha256), 'defaced');
      const article = [...store.pages()].find((p) => p.kind === 'article');
      assert.ok(article);
      // Someone with disk access drops a page from the index behind the mirror's back.
      const raw = openSqlite(path.join(mirror.dataDir, 'index.sqlite'));
      raw.prepare('DELETE FROM pages WHERE path = ?').run(article.path);
      raw.close();
      const check = await verifyMirror({
        store,
        url: site.appUrl,
        manifestPath: '/manifest',
        trust: new TrustState({ kind: 'pinned', key: keyIdOf(loadPinnedKey(publicKeyFile)) }),
        fetcher,
        repair: false,
        logger,
      });
      assert.equal(check.consistent, false);
      assert.deepEqual(check.corruptBlobs, [home.sha256]);
      assert.equal(check.missing, 1);
      const repaired = await verifyMirror({
        store,
        url: site.appUrl,
        manifestPath: '/manifest',
        trust: new TrustState({ kind: 'pinned', key: keyIdOf(loadPinnedKey(publicKeyFile)) }),
        fetcher,
        repair: true,
        logger,
      });
      assert.equal(repaired.repairedBlobs, 1);
      assert.ok(repaired.repairedPaths >= 1);
      const bar = {
        total: -1,
        done: 0,
        setTotal: (n: number) => (bar.total = n),
        increment: (by: number) => (bar.done += by),
        stop: () => undefined,
      };
      const again = await verifyMirror({
        store,
        url: site.appUrl,
        manifestPath: '/manifest',
        trust: new TrustState({ kind: 'pinned', key: keyIdOf(loadPinnedKey(publicKeyFile)) }),
        fetcher,
        repair: false,
        logger,
        progress: bar,
      });
      assert.equal(again.consistent, true, JSON.stringify(again));
      assert.equal(bar.total, store.pageCount(), 'the progress bar knows its total before it starts');
      assert.ok(bar.total > 10 && bar.done === bar.total, `progress ${bar.done}/${bar.total}`);
      assert.equal(fs.readFileSync(store.blobPath(home.sha256)).includes('defaced'), false);
    } finally {
      fetcher.close();
      store.close();
    }
  });

  test('a large media download cut midway resumes with a Range from the bytes on disk and is verified whole', async () => {
    const link = await startFaultyLink(site.appUrl);
    const mirror = await startTestMirror({
      origins: [link.url],
      env: { MIRROR_PUBLIC_KEY: publicKeyFile, MIRROR_BOOTSTRAP: 'false' },
    });
    try {
      const { cursor } = JSON.parse((await (await fetch(`${site.appUrl}/manifest`)).text()).split('\n')[0]) as {
        cursor: number;
      };
      await mirror.waitForCursor(cursor, 15_000);
      // An MP3 as far as the upload's sniffing goes: 'ID3', then 6 MiB of noise.
      const audio = Buffer.concat([Buffer.from('ID3'), randomBytes(6 * 1024 * 1024)]);
      const sha = sha256Hex(audio);
      const blobRequests: string[] = [];
      let downAfterFirst = 0;
      let cutDone = false;
      link.tamper((chunk, direction) => {
        if (direction === 'up' && chunk.includes(`/blobs/${sha}`))
          blobRequests.push(chunk.toString('latin1').split('\r\n\r\n')[0]);
        if (direction === 'down' && blobRequests.length === 1 && !cutDone) {
          downAfterFirst += chunk.length;
          if (downAfterFirst > 2 * 1024 * 1024) {
            cutDone = true;
            setImmediate(() => {
              link.cut('reset');
              setTimeout(() => link.resume(), 300);
            });
          }
        }
        return chunk;
      });
      const res = await fetch(`${site.appUrl}/api/media?name=long-interview.mp3`, {
        method: 'POST',
        headers: { authorization: `Bearer ${site.adminToken}`, 'content-type': 'application/octet-stream' },
        body: audio,
      });
      assert.equal(res.status, 201, await res.clone().text());
      const item = (await res.json()) as { sha256: string; path: string };
      assert.equal(item.sha256, sha);
      // Media go to the mirrors with the first published item that shows them (app/media/shown-media.ts).
      const article = await fetch(`${site.appUrl}/api/articles`, {
        method: 'POST',
        headers: { authorization: `Bearer ${site.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          title: 'The long interview',
          body: `<p><audio controls src="${item.path}"></audio></p>`,
          status: 'published',
        }),
      });
      assert.equal(article.status, 201, await article.clone().text());
      await eventually(async () => assert.equal((await rawGet(mirror.url, item.path, {}, 'HEAD')).status, 200), 30_000);
      assert.ok(cutDone, 'the link was cut during the transfer');
      assert.ok(blobRequests.length >= 2, `the blob was asked for again (${blobRequests.length} requests)`);
      assert.doesNotMatch(blobRequests[0], /\r\nrange:/i, 'the first attempt asks for the whole blob');
      const resumedAt = Number(/\r\nrange: bytes=(\d+)-\r\n/i.exec(blobRequests[1])?.[1] ?? 0);
      assert.ok(
        resumedAt > 1024 * 1024,
        `the second attempt resumed from the bytes on disk, not from 0:\n${blobRequests[1]}`,
      );
      const served = await rawGet(mirror.url, item.path);
      assert.equal(sha256Hex(served.body), sha, 'the stored blob is the uploaded file, byte for byte');
      assert.equal(served.headers['content-type'], 'audio/mpeg');
      const partials = fs.readdirSync(path.join(mirror.dataDir, 'blobs', 'tmp'));
      assert.deepEqual(partials, [], 'no partial download is left behind');
    } finally {
      link.tamper(undefined);
      await mirror.close();
      await link.close();
    }
  });

  test('mirror status reports are stored for `hyperstatic status`; bad reports get a 4xx and change nothing', async () => {
    const mirror = await startTestMirror({
      origins: [site.appUrl],
      env: { MIRROR_PUBLIC_KEY: publicKeyFile, MIRROR_NAME: 'far-away' },
    });
    const db = createDatabase(config.databaseUrl);
    try {
      await mirror.reportStatus();
      const bad = await fetch(`${site.appUrl}/mirror-status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'x',
          url: '',
          cursor: -1,
          epoch: 1,
          head: 1,
          lagEntries: 0,
          lagSeconds: 0,
          connected: true,
        }),
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'cursor');
      const notAnObject = await fetch(`${site.appUrl}/mirror-status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[1,2]',
      });
      assert.equal(notAnObject.status, 400);
      const statuses = await mirrorStatuses(db);
      assert.deepEqual(
        statuses.map((s) => s.name),
        ['far-away'],
      );
      assert.equal(statuses[0].url, mirror.url);
      assert.equal(typeof statuses[0].lagSeconds, 'number');
    } finally {
      await mirror.close();
      await db.destroy();
    }
  });

  test('each mirror reports with its own token, only as itself, until the operator revokes it', async () => {
    // Asynchronous: a synchronous child would block this process's origin
    // and its keep-alive timers, which then race the next request (ECONNRESET).
    const cli = async (...args: string[]) => {
      const run = await runCli(['mirror', 'credentials', ...args], {
        env: { ...process.env, DATA_DIR: config.dataDir, DATABASE_URL: '', REDIS_URL: '' },
      });
      assert.equal(run.code, 0, run.stderr);
      return run.stdout;
    };
    const issued = await cli('add', 'mirror-north');
    assert.match(issued, /^MIRROR_NAME=mirror-north\nMIRROR_STATUS_TOKEN=hsm_[\w-]{32}\n$/);
    const northToken = /MIRROR_STATUS_TOKEN=(\S+)/.exec(issued)![1];
    const db = createDatabase(config.databaseUrl);
    const north = await startTestMirror({
      origins: [site.appUrl],
      env: { MIRROR_PUBLIC_KEY: publicKeyFile, MIRROR_NAME: 'mirror-north', MIRROR_STATUS_TOKEN: northToken },
    });
    const report = (name: string, token?: string) =>
      fetch(`${site.appUrl}/mirror-status`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({
          name,
          url: '',
          cursor: 0,
          epoch: 1,
          head: 0,
          lagEntries: 0,
          lagSeconds: 0,
          connected: true,
        }),
      });
    try {
      const stored = (await db('mirror_credentials').where({ name: 'mirror-north' }).first()) as { token_hash: string };
      assert.equal(stored.token_hash, sha256Hex(northToken), 'only the hash of the token is stored');
      await north.reportStatus();
      assert.ok((await mirrorStatuses(db)).some((s) => s.name === 'mirror-north' && s.url === north.url));

      const southToken = await addMirrorCredential(db, 'mirror-south');
      const impersonation = await report('mirror-north', southToken);
      assert.equal(impersonation.status, 403);
      assert.match(
        ((await impersonation.json()) as { error: { message: string } }).error.message,
        /belongs to mirror mirror-south/,
      );
      assert.equal((await report('mirror-east')).status, 401, 'once tokens are issued, an anonymous report is refused');
      assert.equal((await report('mirror-east', 'hsm_' + 'x'.repeat(32))).status, 401);
      assert.equal(
        (await mirrorStatuses(db)).some((s) => s.name === 'mirror-south' || s.name === 'mirror-east'),
        false,
        'refused reports change nothing',
      );
      assert.equal((await report('mirror-south', southToken)).status, 204);
      await assert.rejects(addMirrorCredential(db, 'mirror-south'), /already has a token/);
      await assert.rejects(addMirrorCredential(db, 'bad name/..'), /mirror name/);

      assert.match(await cli('revoke', 'mirror-north'), /revoked/);
      await assert.rejects(north.reportStatus(), /401/);
      assert.match(
        await cli('list'),
        /mirror-north\tissued [\d-]+ [\d:]+\trevoked [\d-]+ [\d:]+\nmirror-south\tissued [\d-]+ [\d:]+\trevoked -/,
      );
      assert.match(await cli('revoke', 'mirror-south'), /revoked/);
      assert.equal(
        (await report('mirror-north')).status,
        401,
        'with every token revoked, a revoked mirror cannot report by leaving its token out',
      );
    } finally {
      // No credentials at all: reporting is open again for any later test on this origin.
      await db('mirror_credentials').del();
      await north.close();
      await db.destroy();
    }
  });
});

describe('mirror trust against a lying origin', () => {
  test('refuses an unsigned or mis-signed batch and takes the real one from the next source', async () => {
    const liar = await startFakeOrigin();
    const honest = await startFakeOrigin();
    const real = makeBatch(1, 1, [{ path: '/a/', body: 'the real story' }]);
    const forged = makeBatch(1, 1, [{ path: '/a/', body: 'a forged story' }]);
    // The real batch's signature on forged entries: a replayed signature must not vouch for other content.
    liar.publish({
      batch: { ...forged.batch, sig: real.batch.sig, signature: real.batch.signature },
      blobs: forged.blobs,
    });
    const pinned = new TrustState({ kind: 'pinned', key: keyIdOf(TEST_FEED_KEYS.publicKey) });
    assert.throws(() => verifyBatchTrust({ ...real.batch, signature: undefined, sig: undefined }, pinned), TrustError);
    // A mirror pinning one key still takes the version-1 signature alone, but only over the entries it signed.
    assert.doesNotThrow(() => verifyBatchTrust({ ...real.batch, signature: undefined }, pinned));
    assert.throws(
      () => verifyBatchTrust({ ...forged.batch, signature: undefined, sig: real.batch.sig }, pinned),
      TrustError,
    );
    assert.throws(() => verifyBatchTrust({ ...forged.batch, signature: real.batch.signature }, pinned), TrustError);
    honest.publish(real);
    const mirror = await startTestMirror({ origins: [liar.url, honest.url] });
    try {
      await mirror.waitForCursor(1, 5000);
      assert.equal((await rawGet(mirror.url, '/a/')).text, 'the real story');
      assert.ok((await metric(mirror.internalUrl, 'hyperstatic_mirror_signature_rejections_total')) >= 1);
    } finally {
      await mirror.close();
      await liar.close();
      await honest.close();
    }
  });

  test('an inline body that does not match its signed hash is dropped and the blob fetched instead', async () => {
    const origin = await startFakeOrigin();
    const built = makeBatch(1, 1, [{ path: '/b/', body: 'the real body' }]);
    // inline is outside the signature by design: only the hash vouches for it.
    built.batch.entries[0].inline = Buffer.from('a swapped body').toString('base64');
    origin.publish(built);
    const mirror = await startTestMirror({ origins: [origin.url] });
    try {
      await mirror.waitForCursor(1, 5000);
      assert.equal((await rawGet(mirror.url, '/b/')).text, 'the real body');
      assert.equal(origin.blobRequests.length, 1, 'the blob was fetched because the inline copy was refused');
    } finally {
      await mirror.close();
      await origin.close();
    }
  });
});
