import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { parseMirrorEntry, signMirrorList, verifyMirrorList, type MirrorList } from './mirror-list';
import {
  keyIdOf,
  signRootStatement,
  siteSigner,
  type Delegation,
  type Revocation,
  type Signed,
  type TrustBundle,
} from './statements';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7, 12);
const roots = [1, 2, 3].map(() => generateKeyPairSync('ed25519').privateKey);
const siteKey = generateKeyPairSync('ed25519').privateKey;
const anchor = { roots: new Set(roots.map(keyIdOf)), threshold: 2 };

function delegation(over: Partial<Delegation> = {}, by = roots.slice(0, 2)): Signed<Delegation> {
  const statement: Delegation = {
    type: 'delegation',
    version: 1,
    site: 'primary',
    key: keyIdOf(siteKey),
    epochs: { from: 1, to: null },
    issued: NOW - DAY,
    expires: NOW + 90 * DAY,
    ...over,
  };
  return by.reduce((s, k) => signRootStatement(s, k), { statement, signatures: [] } as Signed<Delegation>);
}

function list(trust: TrustBundle, at = 1): MirrorList {
  const mirrors = [parseMirrorEntry({ url: 'https://mirror-eu.example', region: 'EU', note: 'partner' })];
  return signMirrorList({ site: 'https://news.example', issued: NOW, mirrors }, siteSigner(siteKey), at, trust);
}

test('a list signed by a key k of n roots delegated verifies, and survives a JSON round trip', () => {
  const signed = JSON.parse(JSON.stringify(list({ delegations: [delegation()], revocations: [] })));
  const verified = verifyMirrorList(signed, anchor);
  assert.equal(verified.list.mirrors[0].url, 'https://mirror-eu.example/');
  assert.equal(verified.delegation.site, 'primary');
});

test('any field changed after signing is refused', () => {
  const good = list({ delegations: [delegation()], revocations: [] });
  for (const change of [
    (l: MirrorList) => (l.mirrors[0].url = 'https://attacker.example/'),
    (l: MirrorList) => (l.mirrors[0].note = 'moved'),
    (l: MirrorList) => l.mirrors.pop(),
    (l: MirrorList) => (l.issued += 1),
    (l: MirrorList) => (l.site = 'https://other.example'),
    (l: MirrorList) => (l.signature.at = 2),
  ]) {
    const copy = structuredClone(good);
    change(copy);
    assert.throws(() => verifyMirrorList(copy, anchor), /signature does not verify/);
  }
});

test('a key delegated below the threshold, for other epochs, or not when the list was signed, is refused', () => {
  for (const d of [
    delegation({}, roots.slice(0, 1)),
    delegation({ epochs: { from: 2, to: null } }),
    delegation({ epochs: { from: 1, to: 1 } }),
    delegation({ issued: NOW + DAY, expires: NOW + 2 * DAY }),
    delegation({ issued: NOW - 2 * DAY, expires: NOW - DAY }),
  ])
    assert.throws(
      () => verifyMirrorList(list({ delegations: [d], revocations: [] }, d.statement.epochs.to === 1 ? 2 : 1), anchor),
      /no delegation signed by 2 of the pinned root keys covers/,
    );
});

test('a revoked key is refused, whether the list carries the revocation or the reader brings it', () => {
  const statement: Revocation = {
    type: 'revocation',
    version: 1,
    key: keyIdOf(siteKey),
    issued: NOW,
    reason: 'seized',
  };
  const revocation = roots
    .slice(1)
    .reduce((s, k) => signRootStatement(s, k), { statement, signatures: [] } as Signed<Revocation>);
  assert.throws(
    () => verifyMirrorList(list({ delegations: [delegation()], revocations: [revocation] }), anchor),
    /is revoked/,
  );
  assert.throws(
    () =>
      verifyMirrorList(list({ delegations: [delegation()], revocations: [] }), {
        ...anchor,
        extraRevocations: [revocation],
      }),
    /is revoked/,
  );
});

test('entries: kinds, onion addresses, credentials and lengths are checked, naming the field', () => {
  assert.deepEqual(parseMirrorEntry({ url: ' https://Static.Example/site ', kind: 'static' }), {
    url: 'https://static.example/site',
    kind: 'static',
    region: '',
    note: '',
  });
  const onion = `http://${'d'.repeat(56)}.onion/`;
  assert.equal(parseMirrorEntry({ url: onion, kind: 'onion' }).kind, 'onion');
  for (const [input, field] of [
    [{ url: 'gopher://x.example/' }, 'url'],
    [{ url: 'https://x.example/', kind: 'cdn' }, 'kind'],
    [{ url: onion }, 'kind'],
    [{ url: 'https://x.example/#top' }, 'url'],
    [{ url: 'https://x.example/', region: 'r'.repeat(65) }, 'region'],
  ] as const)
    assert.throws(
      () => parseMirrorEntry(input),
      (e: { field?: string }) => e.field === field,
      JSON.stringify(input),
    );
});
