// The trust model end to end (docs/trust.md): a primary origin (app on the
// MariaDB primary) and a standby origin (app on the replica), each with its
// own site key, a producer and Redis; three mirrors pinning only root keys
// (2 of 3) and two cache proxies, every role in its own process. A hostile
// source sits first in every mirror's origin list and, in turn, forges a
// hello, signs with an expired delegation's key, and replays the seized
// primary key after its revocation; the standby takes over after
// `db promote`; a withheld feed freezes the copies and a takedown empties
// every public place.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrateLatest } from '../../app/db/migrate';
import { promote, type ClusterAccess } from '../../app/db/promote';
import { createApiToken, createUser } from '../../app/auth/users';
import { initKeyPair, loadPrivateKey } from '../../app/feed/signing-keys';
import { installStatement } from '../../app/feed/trust-statements';
import { loadConfig } from '../../common/config';
import { createDatabase, type Database } from '../../common/db/database';
import { clusterStatus } from '../../bin/commands/status';
import { signBatch, type FeedBatch, type JournalEntry } from '../../common/feed-format';
import { sha256Hex } from '../../common/hash';
import {
  keyIdOf,
  signHeartbeat,
  signRootStatement,
  siteSigner,
  type Delegation,
  type RootStatement,
  type Signed,
} from '../../common/trust/statements';
import { appUrl, REPLICATION_PASSWORD, REPLICATION_USER, startMariaDBCluster, type Cluster } from '../harness/mariadb';
import { sharedRedisUrl } from '../harness/shared';
import { rawGet, tempDir } from '../integration/mirror-helpers';
import { startHyperstatic, type HyperstaticProcess } from '../support/processes';
import { replayFeed } from '../support/feed-replay';

const HEARTBEAT_MS = 200;
const HEARTBEAT_VALID_MS = 1500;
const PATIENCE = 30_000;
/** Operator endpoints (/metrics, /_mirror/…) answer on a public port only with this token (common/operator-access.ts). */
const ADMIN_TOKEN = 'trust-e2e-operator-token';

function operator(url: string): Promise<Response> {
  return fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

type FakeMode = 'down' | 'bare-hello' | 'unsigned-hello' | 'undelegated-hello' | 'expired-key' | 'seized-key';

/** A hostile feed source: what it says depends on `mode`; 'down' answers 503 so mirrors move on. */
async function startHostileSource(keys: { expired: KeyObject; seized: KeyObject; expiredDelegation: unknown }) {
  const state = { mode: 'down' as FakeMode, epoch: 1, head: 0, forgedPath: '/', feedRequests: 0 };
  const blobs = new Map<string, Buffer>();
  const undelegated = generateKeyPairSync('ed25519').privateKey;
  const heartbeat = (key: KeyObject, epoch: number) => {
    const time = Date.now();
    return signHeartbeat({ epoch, head: state.head, time, validUntil: time + 60_000 }, siteSigner(key));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    if (url.pathname.startsWith('/blobs/')) {
      const body = blobs.get(url.pathname.slice('/blobs/'.length));
      if (!body) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    }
    if (url.pathname !== '/feed') return void res.writeHead(404).end();
    state.feedRequests += 1;
    if (state.mode === 'down') return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    const hello =
      state.mode === 'bare-hello'
        ? { epoch: 99 }
        : state.mode === 'unsigned-hello'
          ? { epoch: 99, head: state.head }
          : state.mode === 'undelegated-hello'
            ? { epoch: 99, head: state.head, heartbeat: heartbeat(undelegated, 99) }
            : state.mode === 'expired-key'
              ? { epoch: state.epoch, head: state.head, heartbeat: heartbeat(keys.expired, state.epoch) }
              : { epoch: 99, head: state.head + 1, heartbeat: heartbeat(keys.seized, 99) };
    // Presenting the lapsed delegation itself: whether or not a mirror ever saw it while it was valid
    // (a slow start can miss that window), the key is refused for its expiry, never trusted.
    if (state.mode === 'expired-key')
      res.write(
        `event: trust\ndata: ${JSON.stringify({ delegations: [keys.expiredDelegation], revocations: [] })}\n\n`,
      );
    res.write(`event: hello\ndata: ${JSON.stringify(hello)}\n\n`);
    if (state.mode === 'seized-key') {
      const body = Buffer.from('<html><body>FORGED BY THE SEIZED KEY</body></html>');
      const sha = sha256Hex(body);
      blobs.set(sha, body);
      const entry: JournalEntry = {
        seq: state.head + 1,
        epoch: 99,
        batch: 99_999,
        path: state.forgedPath,
        op: 'put',
        sha256: sha,
        size: body.length,
        contentType: 'text/html; charset=utf-8',
        lastModified: Date.now(),
        kind: 'article',
      };
      const batch: FeedBatch = signBatch({ epoch: 99, batch: 99_999, entries: [entry] }, keys.seized, 99);
      res.write(`id: ${entry.seq}\nevent: batch\ndata: ${JSON.stringify(batch)}\n\n`);
    }
    setTimeout(() => res.end(), 500);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sum of a counter over the label sets whose labels include `labels` (e.g. `reason="revoked"`). */
async function counter(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await operator(`${url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'gm')))
    if ((m[1] ?? '').includes(labels)) sum += Number(m[2]);
  return sum;
}

async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = PATIENCE,
  explain?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not there yet (a process restarting, a connection refused)
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached within ${timeoutMs} ms${explain ? `: ${await explain()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function rootSigned<T extends RootStatement>(statement: T, roots: KeyObject[]): Signed<T> {
  return roots.reduce<Signed<T>>((signed, key) => signRootStatement(signed, key), { statement, signatures: [] });
}

function delegation(key: KeyObject, site: string, from: number, to: number | null, expiresInMs: number): Delegation {
  const now = Date.now();
  return {
    type: 'delegation',
    version: 1,
    site,
    key: keyIdOf(key),
    epochs: { from, to },
    issued: now - 1000,
    expires: now + expiresInMs,
  };
}

async function mirrorStatus(url: string): Promise<{ cursor: number; freshness: { epoch: number; frozen: boolean } }> {
  return (await (await operator(`${url}/_mirror/status`)).json()) as {
    cursor: number;
    freshness: { epoch: number; frozen: boolean };
  };
}

async function rawStatus(url: string): Promise<{ source: string }> {
  return (await (await operator(`${url}/_mirror/status`)).json()) as { source: string };
}

describe(
  'trust end to end: roots, delegations, revocation, promotion, freshness, takedown',
  { timeout: 180_000 },
  () => {
    let cluster: Cluster;
    let db: Database;
    let token: string;
    const roots = [0, 1, 2].map(() => generateKeyPairSync('ed25519').privateKey);
    let primaryKey: KeyObject;
    let standbyKey: KeyObject;
    const expiringKey = generateKeyPairSync('ed25519').privateKey;
    let expiresAt = 0;
    let expiringDelegation: unknown;
    let hostile: Awaited<ReturnType<typeof startHostileSource>>;
    let appA: HyperstaticProcess;
    let appB: HyperstaticProcess;
    let appBEnv: Record<string, string>;
    let producer: HyperstaticProcess;
    const mirrors: HyperstaticProcess[] = [];
    const proxies: HyperstaticProcess[] = [];
    let access: ClusterAccess;
    let nodes = '';
    /** The origin that takes saves: the primary's app, then the standby's after the promotion. */
    let writer = () => appA;
    const everyPlace = () => [...mirrors, ...proxies].map((p) => p.url);

    async function publish(title: string, body = `<p>${title}</p>`): Promise<{ id: number; url: string }> {
      const res = await fetch(`${writer().url}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ title, body, status: 'published' }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as { id: number; url: string };
    }

    async function servedEverywhere(url: string, text: string): Promise<void> {
      for (const base of everyPlace())
        await waitUntil(`${base}${url} serves ${JSON.stringify(text)}`, async () => {
          const res = await rawGet(base, encodeURI(url));
          return res.status === 200 && res.text.includes(text);
        });
    }

    async function refusalsOnEveryMirror(labels: string): Promise<number[]> {
      return Promise.all(mirrors.map((m) => counter(m.url, 'hyperstatic_mirror_trust_refusals_total', labels)));
    }

    /** Waits until `hyperstatic status` (clusterStatus, on the database the standby now leads) shows every mirror so. */
    async function statusSays(freshness: 'fresh' | 'frozen'): Promise<void> {
      const config = loadConfig({
        DATABASE_NODES: nodes,
        DATABASE_ADMIN_USER: 'root',
        DATABASE_ADMIN_PASSWORD: '',
        LOG_LEVEL: 'silent',
      });
      await waitUntil(`hyperstatic status shows every mirror ${freshness}`, async () => {
        const status = await clusterStatus(config);
        const rows = 'error' in status.mirrors ? [] : status.mirrors.filter((m) => /^m[123]$/.test(m.name));
        return rows.length === 3 && rows.every((m) => m.freshness === freshness);
      });
    }

    async function refusalsRise(labels: string, before: number[]): Promise<void> {
      for (const [i, m] of mirrors.entries())
        await waitUntil(`mirror ${i + 1} refused (${labels})`, async () => {
          return (await counter(m.url, 'hyperstatic_mirror_trust_refusals_total', labels)) > before[i];
        });
    }

    before(async () => {
      cluster = await startMariaDBCluster({ replicas: 1 });
      const [primaryNode, replicaNode] = cluster.nodes;
      nodes = `primary=${appUrl(primaryNode)},replica1=${appUrl(replicaNode)}`;
      db = createDatabase(appUrl(primaryNode));
      await migrateLatest(db);
      await createUser(db, 'chief', 'admin', null);
      token = await createApiToken(db, 'chief');
      access = {
        nodes: loadConfig({ DATABASE_NODES: nodes, LOG_LEVEL: 'silent' }).databaseNodes,
        admin: { user: 'root', password: '' },
        replication: { user: REPLICATION_USER, password: REPLICATION_PASSWORD },
      };

      // Each site makes its own key in its own data dir; only key ids leave it.
      const dirA = tempDir('trust-primary');
      const dirB = tempDir('trust-standby');
      primaryKey = loadPrivateKey(initKeyPair(path.join(dirA, 'keys', 'feed-ed25519.key')).privatePath);
      standbyKey = loadPrivateKey(initKeyPair(path.join(dirB, 'keys', 'feed-ed25519.key')).privatePath);
      const rootIds = roots.map(keyIdOf);
      // 2 of 3 everywhere: two holders sign each statement, the third never needs to.
      for (const d of [
        delegation(primaryKey, 'primary', 1, null, 90 * 86_400_000),
        delegation(standbyKey, 'standby', 2, null, 90 * 86_400_000),
        delegation(expiringKey, 'short-lived', 1, null, 4000),
      ]) {
        const signed = rootSigned(d, [roots[0], roots[1]]);
        if (d.key === keyIdOf(expiringKey)) {
          expiresAt = d.expires;
          expiringDelegation = signed;
        }
        await installStatement(db, signed, {
          roots: rootIds,
          threshold: 2,
          now: Date.now(),
        });
      }

      const redisUrl = await sharedRedisUrl();
      const common = {
        REDIS_URL: redisUrl,
        REDIS_PREFIX: `trust_e2e_${process.pid}`,
        RELAY_INTERVAL_MS: '200',
        FEED_HEARTBEAT_MS: String(HEARTBEAT_MS),
        FEED_HEARTBEAT_VALID_MS: String(HEARTBEAT_VALID_MS),
        LOG_LEVEL: 'warn',
      };
      appA = await startHyperstatic(
        ['app'],
        { ...common, DATABASE_URL: appUrl(primaryNode), DATA_DIR: dirA },
        { portVariable: 'APP_PORT' },
      );
      appBEnv = { ...common, DATABASE_URL: appUrl(replicaNode), DATA_DIR: dirB };
      appB = await startHyperstatic(['app'], appBEnv, { portVariable: 'APP_PORT' });
      producer = await startHyperstatic(
        ['producer'],
        {
          ...common,
          DATABASE_NODES: nodes,
          DATABASE_TOPOLOGY_POLL_MS: '100',
          DATABASE_ADMIN_USER: 'root',
          DATABASE_ADMIN_PASSWORD: '',
          DATA_DIR: tempDir('trust-producer'),
        },
        { portVariable: 'PRODUCER_PORT' },
      );
      assert.ok(fs.existsSync(path.join(dirA, 'keys', 'feed-ed25519.key')));

      hostile = await startHostileSource({
        expired: expiringKey,
        seized: primaryKey,
        expiredDelegation: expiringDelegation,
      });
      for (const name of ['m1', 'm2', 'm3'])
        mirrors.push(
          await startHyperstatic(
            ['mirror'],
            {
              MIRROR_ORIGIN_URLS: [hostile.url, appA.url, appB.url].join(','),
              MIRROR_DATA_DIR: tempDir(`trust-${name}`),
              MIRROR_ROOT_KEYS: rootIds.join(','),
              MIRROR_ROOT_THRESHOLD: '2',
              MIRROR_PUBLIC_KEY: '',
              MIRROR_NAME: name,
              MIRROR_ADMIN_TOKEN: ADMIN_TOKEN,
              MIRROR_RECONNECT_MS: '50',
              MIRROR_PREFER_ORIGIN_MS: '1000',
              MIRROR_BOOTSTRAP: 'false',
              MIRROR_STATUS_INTERVAL_MS: '300',
              LOG_LEVEL: 'error',
            },
            { portVariable: 'MIRROR_PORT' },
          ),
        );
      for (const upstream of mirrors.slice(0, 2))
        proxies.push(
          await startHyperstatic(
            ['proxy'],
            { PROXY_UPSTREAMS: upstream.url, PROXY_ACCESS_LOG: 'false', LOG_LEVEL: 'error' },
            { portVariable: 'PROXY_PORT' },
          ),
        );
    });

    after(async () => {
      for (const p of [...proxies, ...mirrors, appA, appB, producer]) await p?.kill();
      await hostile?.close();
      await db?.destroy();
      await cluster?.stop();
    });

    test('1. a publish reaches all three mirrors and both proxies, with only root keys pinned', async () => {
      const saved = await publish('Trusted through the roots');
      await servedEverywhere(saved.url, 'Trusted through the roots');
      for (const m of mirrors) {
        const status = (await (await operator(`${m.url}/_mirror/status`)).json()) as {
          freshness: { trust: string; frozen: boolean; epoch: number };
        };
        assert.equal(status.freshness.trust, 'roots');
        assert.equal(status.freshness.frozen, false);
        assert.equal(status.freshness.epoch, 1);
      }
    });

    test('2. a forged hello (unsigned, or signed by an undelegated key) is refused; mirrors keep following', async () => {
      // The bare `{"epoch":99}` (no head, no heartbeat) is refused by the trust checks as unsigned.
      const unsignedBefore = await refusalsOnEveryMirror('reason="unsigned"');
      hostile.state.mode = 'bare-hello';
      await refusalsRise('reason="unsigned"', unsignedBefore);
      hostile.state.mode = 'down';
      for (const mode of ['unsigned-hello', 'undelegated-hello'] as const) {
        const before = await refusalsOnEveryMirror('what="hello"');
        hostile.state.mode = mode;
        await refusalsRise('what="hello"', before);
        hostile.state.mode = 'down';
        const saved = await publish(`After a ${mode}`);
        await servedEverywhere(saved.url, `After a ${mode}`);
      }
      const notDelegated = await refusalsOnEveryMirror('reason="not-delegated"');
      assert.ok(
        notDelegated.every((n) => n >= 1),
        `the undelegated key was refused as such: ${notDelegated.join(',')}`,
      );
      for (const m of mirrors) {
        const status = (await (await operator(`${m.url}/_mirror/status`)).json()) as { freshness: { epoch: number } };
        assert.equal(status.freshness.epoch, 1, 'epoch 99 was never believed');
      }
    });

    test('4. a key whose only delegation has expired is refused', async () => {
      // Installed with a 4 s expiry in before(): wait until it has lapsed.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now() + 100)));
      const before = await refusalsOnEveryMirror('reason="expired"');
      hostile.state.mode = 'expired-key';
      await refusalsRise('reason="expired"', before);
      hostile.state.mode = 'down';
      const saved = await publish('After an expired key');
      await servedEverywhere(saved.url, 'After an expired key');
    });

    test('5. after `db promote`, the standby key delegated for epoch 2- publishes and every mirror follows', async () => {
      const cursorsBefore = await Promise.all(mirrors.map((m) => mirrorStatus(m.url).then((st) => st.cursor)));
      // The primary site is lost (its app gone with it); the standby's own key must carry the feed.
      await appA.kill();
      const result = await promote(access, 'replica1');
      assert.ok(result.executed);
      writer = () => appB;
      const saved = await (async () => {
        const deadline = Date.now() + PATIENCE;
        for (;;) {
          try {
            return await publish('Published by the standby');
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      })();
      await servedEverywhere(saved.url, 'Published by the standby');
      for (const m of mirrors)
        await waitUntil('mirror reports epoch 2', async () => {
          const status = (await (await operator(`${m.url}/_mirror/status`)).json()) as {
            cursor: number;
            freshness: { epoch: number };
          };
          return status.freshness.epoch === 2 && status.cursor > cursorsBefore[mirrors.indexOf(m)];
        });
      for (const m of mirrors) assert.equal((await rawStatus(m.url)).source, appB.url, 'it follows the standby');
    });

    test('3. the seized primary key, once revoked, cannot push epoch 99 or a forged page', async () => {
      const target = await publish('A page the thief wants to rewrite');
      await servedEverywhere(target.url, 'A page the thief wants to rewrite');
      const revocation = rootSigned(
        {
          type: 'revocation',
          version: 1,
          key: keyIdOf(primaryKey),
          issued: Date.now() - 1000,
          reason: 'primary seized',
        },
        [roots[1], roots[2]],
      );
      const newPrimary = createDatabase(appUrl(cluster.nodes[1]));
      try {
        await installStatement(newPrimary, revocation, { roots: roots.map(keyIdOf), threshold: 2, now: Date.now() });
      } finally {
        await newPrimary.destroy();
      }
      const head = Number(
        (await (await fetch(`${appB.url}/manifest`)).text()).split('\n')[0].match(/"cursor":(\d+)/)?.[1] ?? 0,
      );
      hostile.state.head = head;
      hostile.state.forgedPath = target.url;
      // Every mirror has the revocation (it comes in the standby's feed) before the thief speaks.
      for (const m of mirrors)
        await waitUntil(`${m.url} holds the revocation`, async () => {
          const bundle = (await (await fetch(`${m.url}/.well-known/hyperstatic/trust.json`)).json()) as {
            revocations?: { statement: { key: string } }[];
          };
          return (bundle.revocations ?? []).some((r) => r.statement.key === keyIdOf(primaryKey));
        });
      const before = await refusalsOnEveryMirror('reason="revoked"');
      hostile.state.mode = 'seized-key';
      await refusalsRise('reason="revoked"', before);
      hostile.state.mode = 'down';
      for (const base of everyPlace()) {
        const page = await rawGet(base, encodeURI(target.url));
        assert.equal(page.status, 200);
        assert.ok(!page.text.includes('FORGED'), `${base} serves the real page`);
        assert.ok(page.text.includes('A page the thief wants to rewrite'));
      }
      for (const m of mirrors) {
        const status = (await (await operator(`${m.url}/_mirror/status`)).json()) as { freshness: { epoch: number } };
        assert.equal(status.freshness.epoch, 2, 'epoch 99 was never believed');
      }
      const saved = await publish('After the thief gave up');
      await servedEverywhere(saved.url, 'After the thief gave up');
    });

    test('7. a hidden article is 410, its old blob 404 and its bytes gone from every mirror feed and proxy', async () => {
      const secret = `Claim ${Date.now()} that must disappear`;
      const saved = await publish('A story to take down', `<p>${secret}</p>`);
      await servedEverywhere(saved.url, secret);
      const manifest = await (await fetch(`${appB.url}/manifest`)).text();
      const oldSha = (
        JSON.parse(manifest.split('\n').find((l) => l.includes(`"path":"${saved.url}"`)) as string) as {
          sha256: string;
        }
      ).sha256;
      let oldBody: Buffer = Buffer.alloc(0);
      for (const base of everyPlace()) {
        const blob = await rawGet(base, `/blobs/${oldSha}`);
        assert.equal(blob.status, 200, `${base} serves the body before the takedown`);
        oldBody = blob.body;
      }
      assert.ok(oldBody.toString('utf8').includes(secret));
      const hidden = await fetch(`${appB.url}/api/moderation/articles/${saved.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ action: 'hide', reason: 'legal request' }),
      });
      assert.equal(hidden.status, 200, await hidden.clone().text());
      for (const base of everyPlace())
        await waitUntil(`${base}: page 410 and blob 404`, async () => {
          return (
            (await rawGet(base, encodeURI(saved.url))).status === 410 &&
            (await rawGet(base, `/blobs/${oldSha}`)).status === 404
          );
        });
      const head = Number(
        (await (await fetch(`${appB.url}/manifest`)).text()).split('\n')[0].match(/"cursor":(\d+)/)?.[1] ?? 0,
      );
      for (const m of [appB, ...mirrors]) {
        await waitUntil(`${m.url} reached ${head}`, async () => {
          if (m === appB) return true;
          const status = (await (await operator(`${m.url}/_mirror/status`)).json()) as { cursor: number };
          return status.cursor >= head;
        });
        const { text } = await replayFeed(m.url, head);
        assert.ok(text.includes(oldSha), `${m.url}: the purge entry names the hash`);
        assert.ok(!text.includes(secret), `${m.url}: the old words are nowhere in the feed`);
        assert.ok(!text.includes(oldBody.toString('base64')), `${m.url}: the old body is not inlined`);
      }
    });

    test('6. a withheld feed freezes every copy within its valid-until, and it turns fresh when the feed returns', async () => {
      const page = await publish('Read while the feed is cut');
      await servedEverywhere(page.url, 'Read while the feed is cut');
      await statusSays('fresh');
      const stoppedAt = Date.now();
      await appB.kill();
      for (const m of mirrors)
        await waitUntil(
          `${m.url} frozen`,
          async () => {
            const metrics = await (await operator(`${m.url}/metrics`)).text();
            const status = (await (await operator(`${m.url}/_mirror/status`)).json()) as {
              freshness: { frozen: boolean };
            };
            return /^hyperstatic_mirror_frozen(\{[^}]*\})? 1$/m.test(metrics) && status.freshness.frozen;
          },
          HEARTBEAT_VALID_MS + 5000,
          async () =>
            `status ${await (await operator(`${m.url}/_mirror/status`)).text()}; ${(
              await (await operator(`${m.url}/metrics`)).text()
            )
              .split('\n')
              .filter((l) => /^hyperstatic_mirror_(frozen|heartbeat_age|trust_refusals)/.test(l))
              .join('; ')}; now ${new Date().toISOString()}`,
        );
      const frozenAfter = Date.now() - stoppedAt;
      process.stderr.write(`# every mirror frozen ${frozenAfter} ms after the origin stopped\n`);
      // The last heartbeat was signed at most one interval before the stop; polling adds a little.
      assert.ok(frozenAfter <= HEARTBEAT_VALID_MS + 3000, `frozen ${frozenAfter} ms after the feed stopped`);
      // The operator's view: `hyperstatic status` reads the reports in the database, which stopped arriving.
      await statusSays('frozen');
      for (const base of everyPlace())
        await waitUntil(
          `${base}: header and banner`,
          async () => {
            const res = await rawGet(base, encodeURI(page.url));
            return (
              res.status === 200 &&
              /^frozen; since=/.test(String(res.headers['hyperstatic-freshness'] ?? '')) &&
              res.text.includes('class="hs-frozen"') &&
              res.text.includes('Read while the feed is cut')
            );
          },
          10_000,
        );

      appB = await startHyperstatic(['app'], appBEnv, { port: appB.port, portVariable: 'APP_PORT' });
      for (const m of mirrors)
        await waitUntil(`${m.url} fresh again`, async () => {
          const metrics = await (await operator(`${m.url}/metrics`)).text();
          return /^hyperstatic_mirror_frozen(\{[^}]*\})? 0$/m.test(metrics);
        });
      await statusSays('fresh');
      for (const base of everyPlace())
        await waitUntil(
          `${base}: header and banner gone`,
          async () => {
            const res = await rawGet(base, encodeURI(page.url));
            return (
              res.status === 200 &&
              res.headers['hyperstatic-freshness'] === undefined &&
              !res.text.includes('hs-frozen')
            );
          },
          10_000,
        );
    });
  },
);
