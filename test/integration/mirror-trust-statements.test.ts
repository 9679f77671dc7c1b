// Trust statements as real mirrors meet them (docs/trust.md), against fake
// origins: the upgrade from one pinned key to roots and delegation keeps a
// mirror's copy and cursor; every forged, stale, expired, undelegated or
// malformed statement, hello, heartbeat and batch is refused with a log line
// and a metric and changes nothing; a revocation and the origin's heartbeats
// reach a mirror that follows only another mirror.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { batchPayload, signBatch, type FeedBatch } from '../../common/feed-format';
import type { Logger } from '../../common/logger';
import {
  keyIdOf,
  signHeartbeat,
  signRootStatement,
  siteSigner,
  type Delegation,
  type Heartbeat,
  type Revocation,
  type Signed,
  type TrustBundle,
} from '../../common/trust/statements';
import { openSqlite } from '../../mirrors/sqlite';
import { makeBatch, signedHello, startFakeOrigin, TEST_FEED_KEYS } from './mirror-fake-origin';
import { eventually, rawGet, startTestMirror, tempDir } from './mirror-helpers';

const HOUR = 3_600_000;
const roots = [1, 2, 3].map(() => generateKeyPairSync('ed25519').privateKey);
/** Two of three pinned roots, and no pinned site key: an upgraded mirror. */
const ROOTS_ENV = {
  MIRROR_ROOT_KEYS: roots.map(keyIdOf).join(','),
  MIRROR_ROOT_THRESHOLD: '2',
  MIRROR_PUBLIC_KEY: '',
};
const MAIN = TEST_FEED_KEYS.privateKey;

function signed<T extends Delegation | Revocation>(statement: T, by: KeyObject[]): Signed<T> {
  return by.reduce((s, k) => signRootStatement(s, k), { statement, signatures: [] } as Signed<T>);
}

function delegation(
  key: KeyObject,
  epochs: { from: number; to: number | null },
  over: Partial<Delegation> = {},
  by = [roots[0], roots[1]],
): Signed<Delegation> {
  const issued = Date.now() - HOUR;
  const statement: Delegation = {
    type: 'delegation',
    version: 1,
    site: 'primary',
    key: keyIdOf(key),
    epochs,
    issued,
    expires: issued + 90 * 24 * HOUR,
    ...over,
  };
  return signed(statement, by);
}

function revocation(key: KeyObject): Signed<Revocation> {
  return signed({ type: 'revocation', version: 1, key: keyIdOf(key), issued: Date.now(), reason: 'seized' }, [
    roots[1],
    roots[2],
  ]);
}

function bundle(...statements: Signed[]): TrustBundle {
  return {
    delegations: statements.filter((s): s is Signed<Delegation> => s.statement.type === 'delegation'),
    revocations: statements.filter((s): s is Signed<Revocation> => s.statement.type === 'revocation'),
  };
}

function heartbeatBy(key: KeyObject, epoch: number, head = 0, validMs = 60_000): Heartbeat {
  const time = Date.now();
  return signHeartbeat({ epoch, head, time, validUntil: time + validMs }, siteSigner(key));
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A batch of `epoch` whose entries start at `seq`, signed by `key` at `at`. */
function batchBy(key: KeyObject, seq: number, epoch: number, at = epoch): FeedBatch {
  const unsigned = makeBatch(seq, seq, [{ path: '/forged/', body: 'a forged story' }], epoch).batch;
  return signBatch({ epoch, batch: unsigned.batch, entries: unsigned.entries }, key, at);
}

/** The value of one labelled series in a mirror's /metrics (0 while it has none). */
async function refusals(internalUrl: string, what: string, reason: string): Promise<number> {
  const text = await (await fetch(`${internalUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^hyperstatic_mirror_trust_refusals_total\{([^}]*)\} (\d+)/.exec(line);
    if (match && match[1].includes(`what="${what}"`) && match[1].includes(`reason="${reason}"`))
      return Number(match[2]);
  }
  return 0;
}

async function mirrorStatus(internalUrl: string): Promise<{
  cursor: number;
  connected: boolean;
  source: string | null;
  freshness: { frozen: boolean; heartbeatAt: string | null; trust: string };
}> {
  return (await (await fetch(`${internalUrl}/_mirror/status`)).json()) as never;
}

/** What a refusal must leave untouched: the cursor, the index and every trust table of the mirror's SQLite. */
function storedState(dataDir: string): string {
  const db = openSqlite(path.join(dataDir, 'index.sqlite'));
  try {
    const rows = (sql: string) => db.prepare(sql).all();
    return JSON.stringify({
      pages: rows('SELECT * FROM pages ORDER BY path'),
      statements: rows('SELECT * FROM trust_statements ORDER BY id'),
      epochs: rows('SELECT * FROM trust_epochs ORDER BY key'),
      heartbeat: rows('SELECT * FROM trust_heartbeat'),
    });
  } finally {
    db.close();
  }
}

/** A logger that keeps every line (warn and above), for asserting that a refusal was logged. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn', base: { component: 'mirror' } }, sink), lines };
}

/**
 * A hostile feed server: each connection gets exactly `events` (already
 * SSE-formatted) and then the stream ends; with no events it answers 503.
 */
async function startLiar(): Promise<{ url: string; events: string[] | undefined; close(): Promise<void> }> {
  const liar = {
    url: '',
    events: undefined as string[] | undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith('/feed') || !liar.events) {
      res.writeHead(req.url?.startsWith('/feed') ? 503 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.end(liar.events.join(''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  liar.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return liar;
}

describe('upgrading a mirror from one pinned key to root keys', () => {
  /** A mirror pinning only MIRROR_PUBLIC_KEY applies two batches, then stops; returns its data dir. */
  async function legacyMirror(origin: Awaited<ReturnType<typeof startFakeOrigin>>): Promise<string> {
    origin.publish(makeBatch(1, 1, [{ path: '/a/', body: 'first story' }]));
    origin.publish(makeBatch(2, 2, [{ path: '/b/', body: 'second story' }]));
    const legacy = await startTestMirror({ origins: [origin.url] });
    try {
      await legacy.waitForCursor(2, 5000);
      assert.equal((await mirrorStatus(legacy.internalUrl)).freshness.trust, 'pinned-key');
    } finally {
      await legacy.close();
    }
    assert.equal(origin.manifestRequests, 1, 'the empty legacy mirror asked for a manifest once');
    return legacy.dataDir;
  }

  test('restarted with roots and a delegation of the same key, it keeps its copy and cursor and follows on', async () => {
    const origin = await startFakeOrigin();
    try {
      const dataDir = await legacyMirror(origin);
      // The origin's operator installed a 2-of-3 delegation of the key mirrors pinned until now.
      origin.trust = bundle(delegation(MAIN, { from: 1, to: null }));
      const mirror = await startTestMirror({ origins: [origin.url], dataDir, env: ROOTS_ENV });
      try {
        assert.equal(mirror.cursor(), 2, 'the cursor survives the restart');
        assert.equal((await rawGet(mirror.url, '/a/')).text, 'first story');
        origin.publish(makeBatch(3, 3, [{ path: '/c/', body: 'third story' }]));
        await mirror.waitForCursor(3, 5000);
        assert.equal((await rawGet(mirror.url, '/c/')).text, 'third story');
        assert.equal(origin.manifestRequests, 1, 'no bootstrap: the upgraded mirror never asked for a manifest');
        assert.equal((await mirrorStatus(mirror.internalUrl)).freshness.trust, 'roots');
        const trust = (await (await fetch(`${mirror.url}/.well-known/hyperstatic/trust.json`)).json()) as TrustBundle;
        assert.deepEqual(
          trust.delegations.map((d) => d.statement.key),
          [keyIdOf(MAIN)],
        );
      } finally {
        await mirror.close();
      }
    } finally {
      await origin.close();
    }
  });

  test('restarted with roots while the origin serves no delegation, it refuses the feed and keeps serving its copy', async () => {
    const origin = await startFakeOrigin();
    try {
      const dataDir = await legacyMirror(origin);
      origin.publish(makeBatch(3, 3, [{ path: '/c/', body: 'third story' }]));
      const mirror = await startTestMirror({ origins: [origin.url], dataDir, env: ROOTS_ENV });
      try {
        await eventually(
          async () => assert.ok((await refusals(mirror.internalUrl, 'hello', 'not-delegated')) >= 2),
          5000,
        );
        assert.equal(mirror.cursor(), 2, 'nothing from an undelegated key is applied');
        const page = await rawGet(mirror.url, '/b/');
        assert.equal(page.status, 200);
        assert.equal(page.text, 'second story');
        assert.equal(origin.manifestRequests, 1);
        // Once the delegation is installed on the origin, the mirror follows by itself.
        origin.trust = bundle(delegation(MAIN, { from: 1, to: null }));
        await mirror.waitForCursor(3, 5000);
      } finally {
        await mirror.close();
      }
    } finally {
      await origin.close();
    }
  });
});

describe('a mirror refuses bad trust input from its first source and keeps following the honest one', () => {
  test('every forged, stale, expired, undelegated or malformed input is logged, counted and changes nothing', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const revoked = generateKeyPairSync('ed25519').privateKey;
    const shortLived = generateKeyPairSync('ed25519').privateKey;
    const shortExpiry = Date.now() + 1500;
    const mainDelegation = delegation(MAIN, { from: 1, to: 2 });
    const honest = await startFakeOrigin({
      epoch: 2,
      trust: bundle(
        mainDelegation,
        delegation(revoked, { from: 1, to: null }),
        delegation(shortLived, { from: 1, to: null }, { expires: shortExpiry }),
        revocation(revoked),
      ),
    });
    // One heartbeat for every connection, so reconnecting to the honest origin changes nothing stored either.
    const honestHello = signedHello(2, 0);
    honest.hello = (epoch, head) => ({ epoch, head, heartbeat: honestHello.heartbeat });
    honest.publish(makeBatch(1, 1, [{ path: '/a/', body: 'the real story' }], 2));
    const liar = await startLiar();
    const { logger, lines } = capturingLogger();
    const mirror = await startTestMirror({ origins: [liar.url, honest.url], env: ROOTS_ENV, logger });
    try {
      await mirror.waitForCursor(1, 5000);
      const baseline = storedState(mirror.dataDir);
      const fixedHello = sse('hello', { epoch: 2, head: 5, heartbeat: honestHello.heartbeat });

      /** Serves `events` from the liar once the mirror reconnects, and checks the refusal it must cause. */
      async function refused(name: string, events: string[], what: string, reason: string): Promise<void> {
        const before = await refusals(mirror.internalUrl, what, reason);
        // The mirror follows the honest origin, on one connection (not one it is about to drop for a revocation).
        await eventually(async () => {
          const status = await mirrorStatus(mirror.internalUrl);
          assert.ok(honest.openFeeds === 1 && status.connected && status.source === honest.url, `${name}: settled`);
        });
        const logged = lines.length;
        const honestVisits = honest.feedRequests.length;
        liar.events = events;
        honest.dropFeedConnections();
        await eventually(
          async () => assert.ok((await refusals(mirror.internalUrl, what, reason)) > before, `${name}: counted`),
          5000,
        );
        liar.events = undefined;
        await eventually(() =>
          assert.ok(honest.feedRequests.length > honestVisits, `${name}: back on the honest origin`),
        );
        assert.ok(
          lines
            .slice(logged)
            .some((l) => /refused/.test(String(l.msg)) && (l.reason === reason || reason === 'malformed')),
          `${name}: logged`,
        );
        assert.equal(mirror.cursor(), 1, `${name}: the cursor did not move`);
        assert.equal(storedState(mirror.dataDir), baseline, `${name}: nothing stored changed`);
      }

      await refused('an unsigned hello', [sse('hello', { epoch: 99, head: 5 })], 'hello', 'unsigned');
      await refused(
        'a hello signed by an undelegated key',
        [sse('hello', { epoch: 2, head: 5, heartbeat: heartbeatBy(stranger, 2) })],
        'hello',
        'not-delegated',
      );
      await refused(
        'a hello at an epoch below one already seen',
        [sse('hello', { epoch: 1, head: 5, heartbeat: heartbeatBy(MAIN, 1) })],
        'hello',
        'stale',
      );
      const tampered = { ...heartbeatBy(MAIN, 2), validUntil: Date.now() + 365 * 24 * HOUR };
      await refused('a tampered heartbeat', [fixedHello, sse('heartbeat', tampered)], 'heartbeat', 'bad-signature');
      await refused(
        'a heartbeat by a revoked key',
        [sse('hello', { epoch: 2, head: 5, heartbeat: heartbeatBy(revoked, 2) })],
        'hello',
        'revoked',
      );
      await refused(
        'a batch signed by an undelegated key',
        [fixedHello, sse('batch', batchBy(stranger, 2, 2))],
        'batch',
        'not-delegated',
      );
      await refused(
        'a batch signed at an epoch its key is not delegated for',
        [fixedHello, sse('batch', batchBy(MAIN, 2, 2, 3))],
        'batch',
        'epoch',
      );
      const early = makeBatch(2, 2, [{ path: '/forged/', body: 'a forged story' }], 2).batch;
      const signer = siteSigner(MAIN);
      const below = {
        ...early,
        signature: { key: signer.keyId, at: 1, sig: signer.sign(batchPayload(early, signer.keyId, 1)) },
      };
      await refused('a batch signed below its epoch', [fixedHello, sse('batch', below)], 'batch', 'epoch');
      // An origin keeps sending delegations that a renewal took over from: the lapsed one counts for nothing.
      const lapsedKey = generateKeyPairSync('ed25519').privateKey;
      const lapsed = delegation(
        lapsedKey,
        { from: 1, to: null },
        { issued: Date.now() - 48 * HOUR, expires: Date.now() - HOUR },
      );
      await refused(
        'a heartbeat by a key whose delegation arrived expired',
        [sse('trust', bundle(lapsed)), sse('hello', { epoch: 2, head: 5, heartbeat: heartbeatBy(lapsedKey, 2) })],
        'hello',
        'expired',
      );
      await eventually(() => assert.ok(Date.now() > shortExpiry), 3000);
      await refused(
        'a heartbeat by a key whose delegation has since expired',
        [sse('hello', { epoch: 2, head: 5, heartbeat: heartbeatBy(shortLived, 2) })],
        'hello',
        'expired',
      );
      await refused(
        'a delegation with one root signature of 2 needed',
        [sse('trust', bundle(delegation(stranger, { from: 1, to: null }, {}, [roots[0]])))],
        'statement',
        'threshold',
      );
      await refused(
        'a malformed trust bundle',
        [sse('trust', { delegations: 'all of them' })],
        'statement',
        'malformed',
      );
      const widened = { ...mainDelegation, statement: { ...mainDelegation.statement, epochs: { from: 1, to: null } } };
      await refused('a statement changed after signing', [sse('trust', bundle(widened))], 'statement', 'bad-signature');

      honest.publish(makeBatch(2, 2, [{ path: '/b/', body: 'the next real story' }], 2));
      await mirror.waitForCursor(2, 5000);
      assert.equal((await rawGet(mirror.url, '/b/')).text, 'the next real story');
      assert.equal((await rawGet(mirror.url, '/forged/')).status, 404);
    } finally {
      await mirror.close();
      await liar.close();
      await honest.close();
    }
  });
});

describe('trust through a peer', () => {
  test('a revocation and the origin heartbeats reach a mirror that follows only another mirror', async () => {
    const seized = generateKeyPairSync('ed25519').privateKey;
    const origin = await startFakeOrigin({
      trust: bundle(delegation(MAIN, { from: 1, to: null }), delegation(seized, { from: 1, to: null })),
      heartbeatMs: 100,
      heartbeatValidMs: 800,
    });
    origin.publish(makeBatch(1, 1, [{ path: '/a/', body: 'first story' }]));
    const a = await startTestMirror({ origins: [origin.url], env: ROOTS_ENV });
    const bDir = tempDir('peer-b');
    let b = await startTestMirror({ origins: [a.url], dataDir: bDir, env: ROOTS_ENV });
    const liar = await startLiar();
    try {
      await b.waitForCursor(1, 5000);
      const heartbeatAt = async () => (await mirrorStatus(b.internalUrl)).freshness.heartbeatAt ?? '';
      const first = await heartbeatAt();
      assert.notEqual(first, '', 'B holds the origin heartbeat A relayed');
      await eventually(async () => assert.ok((await heartbeatAt()) > first, 'the relayed heartbeat advances'), 3000);

      // The origin stops (cut cable, or updates withheld): A has nothing to relay, and B freezes too.
      origin.feedOnline = false;
      origin.dropFeedConnections();
      await eventually(async () => assert.equal((await mirrorStatus(b.internalUrl)).freshness.frozen, true), 5000);
      const frozenPage = await rawGet(b.url, '/a/');
      assert.equal(frozenPage.status, 200, 'B keeps serving its copy');
      assert.match(String(frozenPage.headers['hyperstatic-freshness']), /^frozen/);
      origin.feedOnline = true;
      await eventually(async () => assert.equal((await mirrorStatus(b.internalUrl)).freshness.frozen, false), 5000);

      origin.trust = bundle(
        delegation(MAIN, { from: 1, to: null }),
        delegation(seized, { from: 1, to: null }),
        revocation(seized),
      );
      await eventually(async () => {
        const trust = (await (await fetch(`${b.url}/.well-known/hyperstatic/trust.json`)).json()) as TrustBundle;
        assert.deepEqual(
          trust.revocations.map((r) => r.statement.key),
          [keyIdOf(seized)],
        );
      }, 5000);
      const stored = openSqlite(path.join(bDir, 'index.sqlite'));
      const bodies = stored.prepare<{ body: string }>('SELECT body FROM trust_statements').all();
      stored.close();
      assert.ok(
        bodies.some((r) => {
          const s = JSON.parse(r.body) as Signed;
          return s.statement.type === 'revocation' && s.statement.key === keyIdOf(seized);
        }),
        "B's trust_statements holds the revocation",
      );

      // B, restarted with a source that signs with the revoked key first, refuses it and follows A on.
      await b.close();
      liar.events = [sse('hello', { epoch: 1, head: 5, heartbeat: heartbeatBy(seized, 1) })];
      b = await startTestMirror({ origins: [liar.url, a.url], dataDir: bDir, env: ROOTS_ENV });
      await eventually(async () => assert.ok((await refusals(b.internalUrl, 'hello', 'revoked')) >= 1), 5000);
      origin.publish(makeBatch(2, 2, [{ path: '/b/', body: 'second story' }]));
      await b.waitForCursor(2, 5000);
    } finally {
      await b.close();
      await a.close();
      await liar.close();
      await origin.close();
    }
  });
});
