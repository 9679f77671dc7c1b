// The checks a reader's service worker runs (failover/verify.js), run here
// under Node's WebCrypto on statements signed by the real signing code: what
// they accept and every way they refuse.
import assert from 'node:assert/strict';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import vm from 'node:vm';
import {
  manifestPageLine,
  signBatch,
  signManifestEnd,
  type FeedBatch,
  type ManifestPage,
} from '../../common/feed-format';
import { sha256Hex } from '../../common/hash';
import { parseMirrorEntry, signMirrorList } from '../../common/trust/mirror-list';
import {
  keyIdOf,
  signHeartbeat,
  signRootStatement,
  siteSigner,
  type Delegation,
  type Heartbeat,
  type Signed,
  type TrustBundle,
} from '../../common/trust/statements';

interface Refusal extends Error {
  reason: string;
}
interface Anchor {
  kind: 'roots' | 'pinned';
  roots?: string[];
  threshold?: number;
  key?: string;
}
interface Entry {
  path: string;
  sha256: string;
  size: number;
  op: string;
}
interface Verify {
  verifyMirrorList(list: unknown, anchor: Anchor): Promise<unknown>;
  verifyHeartbeat(h: unknown, trust: unknown, anchor: Anchor, now: number, staleMs: number): Promise<number>;
  verifyProof(batch: unknown, path: string, h: Heartbeat, trust: unknown, anchor: Anchor): Promise<Entry>;
  checkBody(bytes: Uint8Array, entry: Entry): Promise<void>;
}

/** verify.js as the worker runs it: a script defining `hsVerify`, with only WebCrypto and the web's globals. */
function loadVerify(): Verify {
  const source = fs.readFileSync(path.join(__dirname, 'verify.js'), 'utf8');
  const context = vm.createContext({
    crypto: webcrypto,
    TextEncoder,
    atob,
    Uint8Array,
    Array,
    JSON,
    Math,
    Date,
    Map,
    Set,
  });
  return vm.runInContext(`${source}\nhsVerify`, context) as Verify;
}

const verify = loadVerify();
const DAY = 86_400_000;
const NOW = Date.now();
const roots = [1, 2, 3].map(() => generateKeyPairSync('ed25519').privateKey);
const siteKey = generateKeyPairSync('ed25519').privateKey;
const anchor: Anchor = { kind: 'roots', roots: roots.map(keyIdOf), threshold: 2 };

function delegation(by = roots.slice(0, 2), key = siteKey): Signed<Delegation> {
  const statement: Delegation = {
    type: 'delegation',
    version: 1,
    site: 'primary',
    key: keyIdOf(key),
    epochs: { from: 1, to: null },
    issued: NOW - DAY,
    expires: NOW + 90 * DAY,
  };
  return by.reduce((s, k) => signRootStatement(s, k), { statement, signatures: [] } as Signed<Delegation>);
}

const trust: TrustBundle = { delegations: [delegation()], revocations: [] };
const body = Buffer.from('<!doctype html><title>Harbour</title><body><p>Ships are back.</p>');
const batch: FeedBatch = signBatch(
  {
    epoch: 1,
    batch: 7,
    entries: [
      {
        seq: 41,
        epoch: 1,
        batch: 7,
        path: '/news/harbour',
        op: 'put',
        sha256: sha256Hex(body),
        size: body.length,
        contentType: 'text/html; charset=utf-8',
        lastModified: NOW - 1000,
        kind: 'article',
      },
    ],
  },
  siteKey,
);

function heartbeat(over: Partial<Omit<Heartbeat, 'signature'>> = {}, key = siteKey): Heartbeat {
  return signHeartbeat({ epoch: 1, head: 41, time: NOW - 1000, validUntil: NOW + 59_000, ...over }, siteSigner(key));
}

async function refused(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: Refusal) => {
    assert.equal(error.reason, reason, error.message);
    return true;
  });
}

test('a mirror list signed by a key 2 of 3 roots delegated verifies; a changed one, or other roots, are refused', async () => {
  const mirrors = [parseMirrorEntry({ url: 'https://mirror-b.example' })];
  const list = signMirrorList({ site: 'https://news.example', issued: NOW, mirrors }, siteSigner(siteKey), 1, trust);
  await verify.verifyMirrorList(JSON.parse(JSON.stringify(list)), anchor);
  const moved = structuredClone(list);
  moved.mirrors[0].url = 'https://attacker.example/';
  await refused(verify.verifyMirrorList(moved, anchor), 'bad-signature');
  const others = {
    kind: 'roots' as const,
    roots: [1, 2].map(() => keyIdOf(generateKeyPairSync('ed25519').privateKey)),
    threshold: 2,
  };
  await refused(verify.verifyMirrorList(list, others), 'not-delegated');
  const oneRoot = signMirrorList({ site: 'https://news.example', issued: NOW, mirrors }, siteSigner(siteKey), 1, {
    delegations: [delegation(roots.slice(0, 1))],
    revocations: [],
  });
  await refused(verify.verifyMirrorList(oneRoot, anchor), 'not-delegated');
  await verify.verifyMirrorList(list, { kind: 'pinned', key: keyIdOf(siteKey) });
});

test('a heartbeat vouches while valid, is accepted as stale within the window, and refused past it or forged', async () => {
  assert.equal(await verify.verifyHeartbeat(heartbeat(), trust, anchor, NOW, 0), 0);
  const expired = heartbeat({ time: NOW - 120_000, validUntil: NOW - 60_000 });
  assert.equal(await verify.verifyHeartbeat(expired, trust, anchor, NOW, DAY), 60_000);
  await refused(verify.verifyHeartbeat(expired, trust, anchor, NOW, 1000), 'expired');
  const forged = { ...heartbeat(), head: 999 };
  await refused(verify.verifyHeartbeat(forged, trust, anchor, NOW, 0), 'bad-signature');
  const undelegated = heartbeat({}, generateKeyPairSync('ed25519').privateKey);
  await refused(verify.verifyHeartbeat(undelegated, trust, anchor, NOW, 0), 'not-delegated');
  await refused(verify.verifyHeartbeat(undefined, trust, anchor, NOW, 0), 'unsigned');
});

test('a signed change binds a path to its sha256; a changed entry, a later one, or other bytes are refused', async () => {
  const h = heartbeat();
  const entry = await verify.verifyProof(JSON.parse(JSON.stringify(batch)), '/news/harbour', h, trust, anchor);
  assert.equal(entry.sha256, sha256Hex(body));
  await verify.checkBody(new Uint8Array(body), entry);
  const tampered = Buffer.from(body);
  tampered[tampered.length - 5] ^= 1;
  await refused(verify.checkBody(new Uint8Array(tampered), entry), 'tampered');
  const swapped = structuredClone(batch);
  swapped.entries[0].sha256 = sha256Hex(tampered);
  await refused(verify.verifyProof(swapped, '/news/harbour', h, trust, anchor), 'bad-signature');
  await refused(verify.verifyProof(batch, '/news/other', h, trust, anchor), 'malformed');
  await refused(verify.verifyProof(batch, '/news/harbour', heartbeat({ head: 40 }), trust, anchor), 'stale');
  await refused(verify.verifyProof({ ...batch, signature: undefined }, '/news/harbour', h, trust, anchor), 'unsigned');
});

test('a signed manifest gives each page its sha256; a changed line, a later cursor or another key are refused', async () => {
  const v = verify as Verify & {
    verifyManifest(text: string, h: Heartbeat, trust: unknown, anchor: Anchor): Promise<Map<string, Entry>>;
  };
  const page = { ...batch.entries[0], variants: undefined };
  const manifest = (key = siteKey, cursor = 41, line = manifestPageLine({ ...page, op: 'put' } as ManifestPage)) => {
    const before = `${JSON.stringify({ type: 'head', epoch: 1, cursor, pages: 1 })}\n${line}`;
    const end = { type: 'end', count: 1, ...signManifestEnd(sha256Hex(Buffer.from(before)), key, 1) };
    return `${before}${JSON.stringify(end)}\n`;
  };
  const pages = await v.verifyManifest(manifest(), heartbeat(), trust, anchor);
  assert.equal(pages.get('/news/harbour')?.sha256, sha256Hex(body));
  const changed = manifest().replace(sha256Hex(body), sha256Hex(Buffer.from('other')));
  await refused(v.verifyManifest(changed, heartbeat(), trust, anchor), 'bad-signature');
  await refused(v.verifyManifest(manifest(siteKey, 42), heartbeat(), trust, anchor), 'stale');
  const stranger = generateKeyPairSync('ed25519').privateKey;
  await refused(v.verifyManifest(manifest(stranger), heartbeat(), trust, anchor), 'not-delegated');
  await refused(v.verifyManifest(manifest().slice(0, -1), heartbeat(), trust, anchor), 'malformed');
});
