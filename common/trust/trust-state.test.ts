import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { signBatch, verifyBatchTrust, type FeedBatch } from '../feed-format';
import {
  keyIdOf,
  signHeartbeat,
  signPurge,
  signRootStatement,
  siteSigner,
  TrustError,
  type Delegation,
  type Revocation,
  type Signed,
} from './statements';
import { memoryTrustStorage, TrustState } from './trust-state';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7, 12);
const roots = [1, 2, 3].map(() => generateKeyPairSync('ed25519').privateKey);
const rootIds = roots.map(keyIdOf);
const primary = generateKeyPairSync('ed25519').privateKey;
const standby = generateKeyPairSync('ed25519').privateKey;

function delegation(key: KeyObject, from: number, to: number | null, over: Partial<Delegation> = {}): Delegation {
  return {
    type: 'delegation',
    version: 1,
    site: 'primary',
    key: keyIdOf(key),
    epochs: { from, to },
    issued: NOW - DAY,
    expires: NOW + 30 * DAY,
    ...over,
  };
}

function revocation(key: KeyObject): Revocation {
  return { type: 'revocation', version: 1, key: keyIdOf(key), issued: NOW, reason: 'seized with the primary site' };
}

function signedBy<T extends Delegation | Revocation>(statement: T, ...by: KeyObject[]): Signed<T> {
  return by.reduce((s, k) => signRootStatement(s, k), { statement, signatures: [] } as Signed<T>);
}

function twoOfThree(now = NOW): TrustState {
  return new TrustState({ kind: 'roots', roots: rootIds, threshold: 2 }, memoryTrustStorage(), () => now);
}

function heartbeat(key: KeyObject, epoch: number, time = NOW, validMs = 60_000) {
  return signHeartbeat({ epoch, head: 10, time, validUntil: time + validMs }, siteSigner(key));
}

/** An epoch-1 batch of one article page, unsigned. */
function articleBatch(batchNo: number, seq: number, path: string): FeedBatch {
  const entry = {
    seq,
    epoch: 1,
    batch: batchNo,
    path,
    op: 'put' as const,
    sha256: 'a'.repeat(64),
    size: 1,
    contentType: 'text/html',
    lastModified: NOW,
    kind: 'article' as const,
  };
  return { epoch: 1, batch: batchNo, entries: [entry] };
}

const bundle = (...statements: Signed[]) => ({
  delegations: statements.filter((s) => s.statement.type === 'delegation'),
  revocations: statements.filter((s) => s.statement.type === 'revocation'),
});

test('a delegation counts only with k distinct pinned root signatures', () => {
  const trust = twoOfThree();
  const one = signedBy(delegation(primary, 1, null), roots[0]);
  const sameTwice = { ...one, signatures: [one.signatures[0], one.signatures[0]] };
  const stranger = signedBy(delegation(primary, 1, null), roots[0], generateKeyPairSync('ed25519').privateKey);
  const result = trust.absorb(bundle(one, sameTwice, stranger));
  assert.equal(result.added.length, 0);
  assert.deepEqual(
    result.refused.map((r) => r.error.reason),
    ['threshold', 'threshold', 'threshold'],
  );
  assert.throws(() => trust.delegationFor(keyIdOf(primary), 1), { reason: 'not-delegated' });

  const two = signedBy(delegation(primary, 1, null), roots[0], roots[2]);
  assert.equal(trust.absorb(bundle(two)).added.length, 1);
  assert.equal(trust.delegationFor(keyIdOf(primary), 5)?.site, 'primary');
});

test('a statement changed after signing is refused', () => {
  const trust = twoOfThree();
  const good = signedBy(delegation(primary, 1, 1), roots[0], roots[1]);
  const widened = { ...good, statement: { ...good.statement, epochs: { from: 1, to: null } } };
  assert.deepEqual(
    trust.absorb(bundle(widened)).refused.map((r) => r.error.reason),
    ['bad-signature'],
  );
});

test('a site key is trusted only for the epochs, and the time, its delegation covers', () => {
  const trust = twoOfThree();
  trust.absorb(bundle(signedBy(delegation(primary, 1, 1), roots[0], roots[1])));
  trust.absorb(bundle(signedBy(delegation(standby, 2, null, { site: 'standby' }), roots[1], roots[2])));
  assert.doesNotThrow(() => trust.delegationFor(keyIdOf(primary), 1));
  assert.throws(() => trust.delegationFor(keyIdOf(primary), 2), { reason: 'epoch' });
  assert.doesNotThrow(() => trust.delegationFor(keyIdOf(standby), 7));

  const laterStorage = memoryTrustStorage();
  const later = new TrustState({ kind: 'roots', roots: rootIds, threshold: 2 }, laterStorage, () => NOW + 31 * DAY);
  const lapsed = later.absorb(bundle(signedBy(delegation(primary, 1, 1), roots[0], roots[1])));
  assert.throws(() => later.delegationFor(keyIdOf(primary), 1), { reason: 'expired' });
  // Already lapsed on arrival: remembered (so its key is refused as expired) but neither stored nor relayed.
  assert.deepEqual(
    [lapsed.added, lapsed.refused, laterStorage.statements(), later.bundle().delegations],
    [[], [], [], []],
  );
  const early = twoOfThree(NOW - 2 * DAY);
  early.absorb(bundle(signedBy(delegation(primary, 1, 1), roots[0], roots[1])));
  assert.throws(() => early.delegationFor(keyIdOf(primary), 1), { reason: 'not-yet-valid' });
});

test('a renewed delegation of the same key keeps it trusted past the old expiry', () => {
  const trust = twoOfThree(NOW + 40 * DAY);
  trust.absorb(bundle(signedBy(delegation(primary, 1, null), roots[0], roots[1])));
  assert.throws(() => trust.delegationFor(keyIdOf(primary), 1), { reason: 'expired' });
  trust.absorb(
    bundle(
      signedBy(delegation(primary, 1, null, { issued: NOW + 29 * DAY, expires: NOW + 400 * DAY }), roots[0], roots[1]),
    ),
  );
  assert.doesNotThrow(() => trust.delegationFor(keyIdOf(primary), 1));
  assert.equal(trust.bundle().delegations.length, 1, 'the expired statement is not relayed');
});

test('a seized key that claimed a higher epoch stops counting once revoked, and the standby is followed', () => {
  const storage = memoryTrustStorage();
  const trust = new TrustState({ kind: 'roots', roots: rootIds, threshold: 2 }, storage, () => NOW);
  trust.absorb(bundle(signedBy(delegation(primary, 1, null), roots[0], roots[1])));
  trust.absorb(bundle(signedBy(delegation(standby, 2, null, { site: 'standby' }), roots[0], roots[1])));
  trust.acceptHeartbeat(heartbeat(primary, 1));
  // The attacker, holding the primary's key, signs epoch 99.
  trust.acceptHeartbeat(heartbeat(primary, 99, NOW + 1));
  assert.throws(() => trust.acceptHeartbeat(heartbeat(standby, 2, NOW + 2)), { reason: 'stale' });

  trust.absorb(bundle(signedBy(revocation(primary), roots[1], roots[2])));
  assert.equal(trust.highestEpoch(), -1);
  assert.throws(() => trust.acceptHeartbeat(heartbeat(primary, 100, NOW + 3)), { reason: 'revoked' });
  trust.acceptHeartbeat(heartbeat(standby, 2, NOW + 4));
  assert.equal(trust.highestEpoch(), 2);

  // A restart forgets neither the revocation nor the epoch.
  const again = new TrustState({ kind: 'roots', roots: rootIds, threshold: 2 }, storage, () => NOW);
  assert.ok(again.isRevoked(keyIdOf(primary)));
  assert.equal(again.highestEpoch(), 2);
  assert.equal(again.latestHeartbeat()?.signature.key, keyIdOf(standby));
  // Revocations are relayed forever, even once the revoked key's delegation has expired.
  assert.equal(again.bundle().revocations.length, 1);
});

test('heartbeats: a forged or tampered one is refused and changes nothing; an older one is not the latest', () => {
  const trust = twoOfThree();
  trust.absorb(bundle(signedBy(delegation(primary, 1, null), roots[0], roots[1])));
  const forged = heartbeat(generateKeyPairSync('ed25519').privateKey, 99);
  assert.throws(() => trust.acceptHeartbeat(forged), { reason: 'not-delegated' });
  const tampered = { ...heartbeat(primary, 1), validUntil: NOW + 365 * DAY };
  assert.throws(() => trust.acceptHeartbeat(tampered), { reason: 'bad-signature' });
  assert.equal(trust.latestHeartbeat(), undefined);
  assert.equal(trust.highestEpoch(), -1);

  assert.deepEqual(trust.acceptHeartbeat(heartbeat(primary, 1, NOW)), { latest: true });
  assert.deepEqual(trust.acceptHeartbeat(heartbeat(primary, 1, NOW - 5000)), { latest: false });
  assert.equal(trust.freshUntil(), NOW + 60_000);
});

test('batches: signed by a delegated key at an epoch no lower than their own, or refused', () => {
  const trust = twoOfThree();
  trust.absorb(bundle(signedBy(delegation(primary, 1, 1), roots[0], roots[1])));
  trust.absorb(bundle(signedBy(delegation(standby, 2, null, { site: 'standby' }), roots[0], roots[1])));
  const batch = articleBatch(3, 9, '/a/');
  assert.doesNotThrow(() => verifyBatchTrust(signBatch(batch, primary, 1), trust));
  // The promoted standby re-serves epoch 1's history, signed at its own epoch 2.
  assert.doesNotThrow(() => verifyBatchTrust(signBatch(batch, standby, 2), trust));
  // The primary's key is not delegated for epoch 2.
  assert.throws(() => verifyBatchTrust(signBatch({ ...batch, epoch: 2 }, primary, 2), trust), { reason: 'epoch' });
  const signed = signBatch(batch, standby, 2);
  assert.throws(() => verifyBatchTrust({ ...signed, signature: { ...signed.signature!, at: 5 } }, trust), {
    reason: 'bad-signature',
  });
  assert.throws(() => verifyBatchTrust({ ...batch }, trust), { reason: 'unsigned' });
  assert.throws(() => verifyBatchTrust({ ...signBatch(batch, standby, 2), epoch: 3 }, trust), TrustError);
});

test('a pinned site key (not yet upgraded) is trusted for every epoch and statements are ignored', () => {
  const trust = new TrustState({ kind: 'pinned', key: keyIdOf(primary) });
  assert.equal(trust.absorb(bundle(signedBy(revocation(primary), roots[0], roots[1]))).added.length, 0);
  trust.acceptHeartbeat(heartbeat(primary, 4, Date.now()));
  assert.throws(() => trust.acceptHeartbeat(heartbeat(standby, 5, Date.now())), { reason: 'not-delegated' });
});

test('purge proofs: only a trusted key can say a blob was taken down', () => {
  const trust = twoOfThree();
  trust.absorb(bundle(signedBy(delegation(primary, 1, null), roots[0], roots[1])));
  const proof = signPurge('b'.repeat(64), 1, siteSigner(primary));
  assert.doesNotThrow(() => trust.checkPurge(proof));
  assert.throws(() => trust.checkPurge({ ...proof, sha256: 'c'.repeat(64) }), { reason: 'bad-signature' });
  assert.throws(() => trust.checkPurge(signPurge('b'.repeat(64), 1, siteSigner(standby))), { reason: 'not-delegated' });
});

test('a bundle that is not one is refused whole; a threshold above the root count does not start', () => {
  const trust = twoOfThree();
  assert.throws(() => trust.absorb({ delegations: 'x' }), { reason: 'malformed' });
  assert.throws(() => trust.absorb(null), { reason: 'malformed' });
  assert.throws(() => new TrustState({ kind: 'roots', roots: rootIds.slice(0, 1), threshold: 2 }), /threshold/);
});

test('a heartbeat from the future or vouching too long is refused; a revoked key stops being the newest', () => {
  const trust = twoOfThree();
  trust.absorb(bundle(signedBy(delegation(primary, 1, null), roots[0], roots[1])));
  trust.absorb(bundle(signedBy(delegation(standby, 2, null, { site: 'standby' }), roots[0], roots[1])));
  assert.throws(() => trust.acceptHeartbeat(heartbeat(primary, 1, NOW + 10 * 60_000)), { reason: 'not-yet-valid' });
  assert.throws(() => trust.acceptHeartbeat(heartbeat(primary, 1, NOW, 31 * DAY)), { reason: 'malformed' });
  assert.equal(trust.latestHeartbeat(), undefined);

  // The seized key vouches as long as it may; once revoked, its word no longer keeps the copy "fresh".
  trust.acceptHeartbeat(heartbeat(primary, 1, NOW, 30 * DAY));
  assert.equal(trust.freshUntil(), NOW + 30 * DAY);
  trust.absorb(bundle(signedBy(revocation(primary), roots[0], roots[2])));
  assert.equal(trust.latestHeartbeat(), undefined);
  // A newer epoch's heartbeat is the newest even if its clock is behind.
  trust.acceptHeartbeat(heartbeat(standby, 2, NOW - 1000));
  assert.equal(trust.latestHeartbeat()?.signature.key, keyIdOf(standby));
});

test('with roots, a key bounded to an older epoch adds nothing once a newer epoch is known', () => {
  const trust = twoOfThree();
  trust.absorb(bundle(signedBy(delegation(primary, 1, 1), roots[0], roots[1])));
  trust.absorb(bundle(signedBy(delegation(standby, 2, null, { site: 'standby' }), roots[0], roots[1])));
  const batch = articleBatch(9, 20, '/forged/');
  assert.doesNotThrow(() => verifyBatchTrust(signBatch(batch, primary, 1), trust));
  // The standby's epoch-2 heartbeat is seen (say, relayed by the seized primary itself) …
  trust.acceptHeartbeat(heartbeat(standby, 2));
  // … so the primary's key, bounded to epoch 1, is refused even before any epoch-2 batch is applied.
  assert.throws(() => verifyBatchTrust(signBatch(batch, primary, 1), trust), { reason: 'stale' });
  // The promoted standby re-signs the same history at its epoch.
  assert.doesNotThrow(() => verifyBatchTrust(signBatch(batch, standby, 2), trust));
});

test('one malformed statement in a bundle is refused alone; the others count', () => {
  const trust = twoOfThree();
  const good = signedBy(delegation(primary, 1, null), roots[0], roots[1]);
  const result = trust.absorb({
    delegations: [{ statement: { type: 'delegation', site: 'x'.repeat(500) }, signatures: [] }, good],
    revocations: [],
  });
  assert.equal(result.added.length, 1);
  assert.deepEqual(
    result.refused.map((r) => r.error.reason),
    ['malformed'],
  );
  assert.doesNotThrow(() => trust.delegationFor(keyIdOf(primary), 1));
});
