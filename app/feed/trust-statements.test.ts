// Installing root-signed statements on the origin, against a real (SQLite) database.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDatabase, type Database } from '../../common/db/database';
import {
  keyIdOf,
  signRootStatement,
  type Delegation,
  type Revocation,
  type Signed,
} from '../../common/trust/statements';
import { migrateLatest } from '../db/migrate';
import { installStatement, listStatements, loadTrustBundle } from './trust-statements';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const newKey = () => generateKeyPairSync('ed25519').privateKey;
const [a, b, c] = [newKey(), newKey(), newKey()];
const roots = [a, b, c].map((k) => keyIdOf(k));
const siteKey = keyIdOf(newKey());

const delegation = (extra: Partial<Delegation> = {}): Signed<Delegation> => ({
  statement: {
    type: 'delegation',
    version: 1,
    site: 'primary',
    key: siteKey,
    epochs: { from: 1, to: null },
    issued: NOW,
    expires: NOW + 90 * DAY,
    ...extra,
  },
  signatures: [],
});

describe('trust statements on the origin', () => {
  let dir: string;
  let db: Database;
  const rows = async () => (await listStatements(db)).length;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-trust-statements-'));
    db = createDatabase(`sqlite:${path.join(dir, 'db.sqlite')}`);
    await migrateLatest(db);
  });

  after(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('below the threshold of the roots given, nothing is stored; without roots, one valid signature is enough', async () => {
    const once = signRootStatement(delegation(), a);
    await assert.rejects(installStatement(db, once, { roots, threshold: 2, now: NOW }), { reason: 'threshold' });
    assert.equal(await rows(), 0);
    const first = await installStatement(db, once, { now: NOW, installedBy: 'ops@origin', note: 'test' });
    assert.equal(first.outcome, 'installed');
    assert.deepEqual(
      [first.statement.kind, first.statement.keyId, first.statement.installedBy],
      ['delegation', siteKey, 'ops@origin'],
    );
  });

  test('the same statement again changes nothing; a copy with another signature adds it to the one row', async () => {
    const once = signRootStatement(delegation(), a);
    assert.equal((await installStatement(db, once, { now: NOW })).outcome, 'unchanged');
    const twice = signRootStatement(once, b);
    const merged = await installStatement(db, twice, { roots, threshold: 2, now: NOW });
    assert.equal(merged.outcome, 'signatures-added');
    const [stored] = await listStatements(db);
    assert.deepEqual(
      stored.signed.signatures.map((s) => s.key),
      [roots[0], roots[1]],
    );
    assert.equal(await rows(), 1);
  });

  test('refuses an unsigned or edited statement and an expired delegation, storing nothing', async () => {
    await assert.rejects(installStatement(db, delegation({ site: 'other' }), { now: NOW }), { reason: 'unsigned' });
    const signed = signRootStatement(delegation({ site: 'standby' }), c);
    const edited = { ...signed, statement: { ...signed.statement, epochs: { from: 0, to: null } } };
    await assert.rejects(installStatement(db, edited, { now: NOW }), { reason: 'bad-signature' });
    await assert.rejects(installStatement(db, { statement: { type: 'delegation' }, signatures: [] }, { now: NOW }), {
      reason: 'malformed',
    });
    await assert.rejects(installStatement(db, signed, { now: NOW + 91 * DAY }), { reason: 'expired' });
    assert.equal(await rows(), 1);
  });

  test('after a revocation, a delegation of that key is refused; the bundle lists both kinds in install order', async () => {
    const revocation: Signed<Revocation> = signRootStatement(
      {
        statement: { type: 'revocation', version: 1, key: siteKey, issued: NOW + 1, reason: 'seized' },
        signatures: [],
      },
      a,
    );
    assert.equal((await installStatement(db, revocation, { now: NOW })).outcome, 'installed');
    const renewal = signRootStatement(delegation({ issued: NOW + 2 }), a);
    await assert.rejects(installStatement(db, renewal, { now: NOW }), { reason: 'revoked' });
    const bundle = await loadTrustBundle(db, NOW);
    assert.equal(bundle.delegations.length, 1);
    assert.equal(bundle.delegations[0].signatures.length, 2);
    assert.deepEqual(bundle.revocations, [revocation]);
    // Once the delegation has lapsed it is no longer handed to mirrors; the revocation always is.
    const later = await loadTrustBundle(db, NOW + 365 * DAY);
    assert.deepEqual(later.delegations, []);
    assert.deepEqual(later.revocations, [revocation]);
  });
});
