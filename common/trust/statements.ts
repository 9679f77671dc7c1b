// The trust statements (docs/trust.md): what root keys sign (delegations of
// an epoch range to a site key, revocations of a site key), what a site key
// signs (heartbeats, which also serve as the signed `hello`; purge proofs),
// and the byte strings each signature covers. Pure: keys in, bytes or
// verdicts out; no clock, no I/O.
//
// Every signed payload starts with a domain string naming the statement and
// its version (`hyperstatic-delegation-v1\n`…), so a signature made for one
// kind of statement can never be replayed as another.
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { SHA256_HEX } from '../hash';

/** A public key as its raw 32 bytes, base64: the form operators paste and statements name. */
export type KeyId = string;

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_ID = /^[A-Za-z0-9+/]{43}=$/;

export function keyIdOf(key: KeyObject): KeyId {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  return der.subarray(ED25519_SPKI_PREFIX.length).toString('base64');
}

export function isKeyId(value: unknown): value is KeyId {
  return typeof value === 'string' && KEY_ID.test(value) && Buffer.from(value, 'base64').length === 32;
}

/** Parsed keys, by id: a mirror checks the same few site keys for every batch and heartbeat. */
const parsedKeys = new Map<KeyId, KeyObject>();

export function publicKeyFromId(id: KeyId): KeyObject {
  const known = parsedKeys.get(id);
  if (known) return known;
  if (!isKeyId(id)) throw new TrustError('malformed', 'a key must be 32 bytes of ed25519 public key, base64');
  const key = createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(id, 'base64')]),
    format: 'der',
    type: 'spki',
  });
  if (parsedKeys.size >= 256) parsedKeys.clear();
  parsedKeys.set(id, key);
  return key;
}

/** A statement or signature a mirror refuses; `reason` is the metric label. */
export class TrustError extends Error {
  readonly code = 'HS_TRUST_REFUSED';
  constructor(
    readonly reason:
      | 'malformed'
      | 'unsigned'
      | 'bad-signature'
      | 'threshold'
      | 'expired'
      | 'not-yet-valid'
      | 'revoked'
      | 'not-delegated'
      | 'epoch'
      | 'stale',
    message: string,
  ) {
    super(message);
    this.name = 'TrustError';
  }
}

// ---------------------------------------------------------------------------
// Root-signed statements

export interface Delegation {
  type: 'delegation';
  version: 1;
  /** A name for the site holding the key ("primary", "standby"); for people, not for checks. */
  site: string;
  key: KeyId;
  /** The epochs the key may sign at, inclusive; `to: null` is open-ended. */
  epochs: { from: number; to: number | null };
  /** ms since 1970: when the statement was made, and when it stops counting. */
  issued: number;
  expires: number;
}

export interface Revocation {
  type: 'revocation';
  version: 1;
  key: KeyId;
  issued: number;
  reason: string;
}

export type RootStatement = Delegation | Revocation;

export interface RootSignature {
  key: KeyId;
  sig: string;
}

/** A statement with the root signatures gathered for it (one per root key holder). */
export interface Signed<T extends RootStatement = RootStatement> {
  statement: T;
  signatures: RootSignature[];
}

/** What the feed, the manifest and /.well-known/hyperstatic/trust.json carry: every statement a mirror needs. */
export interface TrustBundle {
  delegations: Signed<Delegation>[];
  revocations: Signed<Revocation>[];
}

/** Exactly the fields of a statement, in a fixed order: the bytes root keys sign. */
export function rootStatementPayload(statement: RootStatement): Buffer {
  const fields =
    statement.type === 'delegation'
      ? [
          statement.version,
          statement.site,
          statement.key,
          statement.epochs.from,
          statement.epochs.to,
          statement.issued,
          statement.expires,
        ]
      : [statement.version, statement.key, statement.issued, statement.reason];
  return Buffer.from(`hyperstatic-${statement.type}-v${statement.version}\n${JSON.stringify(fields)}`, 'utf8');
}

/** Adds (or replaces) one root key's signature. */
export function signRootStatement<T extends RootStatement>(signed: Signed<T>, rootKey: KeyObject): Signed<T> {
  const key = keyIdOf(rootKey);
  const sig = cryptoSign(null, rootStatementPayload(signed.statement), rootKey).toString('base64');
  return { statement: signed.statement, signatures: [...signed.signatures.filter((s) => s.key !== key), { key, sig }] };
}

/** The distinct pinned root keys whose signature over the statement verifies. */
export function validRootSigners(signed: Signed, roots: ReadonlySet<KeyId>): KeyId[] {
  const payload = rootStatementPayload(signed.statement);
  const good = new Set<KeyId>();
  for (const s of signed.signatures) {
    if (!roots.has(s.key) || good.has(s.key)) continue;
    if (verifySig(payload, s.sig, s.key)) good.add(s.key);
  }
  return [...good];
}

/** Throws unless at least `threshold` distinct pinned roots signed the statement. */
export function checkThreshold(signed: Signed, roots: ReadonlySet<KeyId>, threshold: number): void {
  if (signed.signatures.length === 0) throw new TrustError('unsigned', `${describe(signed.statement)} is unsigned`);
  const valid = validRootSigners(signed, roots);
  const count = valid.length;
  // A pinned root's signature that does not verify means the statement was changed after signing.
  const broken = signed.signatures.some((s) => roots.has(s.key) && !valid.includes(s.key));
  if (count < threshold && broken)
    throw new TrustError(
      'bad-signature',
      `${describe(signed.statement)} carries a root signature that does not verify: it was changed after signing`,
    );
  if (count < threshold)
    throw new TrustError(
      'threshold',
      `${describe(signed.statement)} has ${count} valid root signature(s); ${threshold} needed`,
    );
}

export function describe(statement: RootStatement): string {
  return statement.type === 'delegation'
    ? `delegation of ${statement.key.slice(0, 8)}… (${statement.site}, epochs ${epochRange(statement.epochs)})`
    : `revocation of ${statement.key.slice(0, 8)}…`;
}

export function epochRange(epochs: Delegation['epochs']): string {
  return epochs.to === null
    ? `${epochs.from}-`
    : epochs.from === epochs.to
      ? `${epochs.from}`
      : `${epochs.from}-${epochs.to}`;
}

/** Throws unless `value` is a well-formed signed delegation or revocation; never trusts the wire. */
export function parseSigned(value: unknown): Signed {
  const v = value as Signed;
  if (!v || typeof v !== 'object' || !Array.isArray(v.signatures) || v.signatures.length > 32)
    throw new TrustError('malformed', 'a signed statement needs a statement and a list of signatures');
  for (const s of v.signatures)
    if (!s || !isKeyId(s.key) || typeof s.sig !== 'string' || s.sig.length > 100)
      throw new TrustError('malformed', 'a signature needs a key and a sig');
  const st = v.statement as RootStatement | undefined;
  if (!st || typeof st !== 'object' || st.version !== 1 || !isKeyId(st.key) || !isTime(st.issued))
    throw new TrustError('malformed', 'a statement needs version 1, a key and an issued time');
  if (st.type === 'delegation') {
    const e = st.epochs as Delegation['epochs'] | undefined;
    if (
      typeof st.site !== 'string' ||
      st.site.length > 64 ||
      !e ||
      !Number.isSafeInteger(e.from) ||
      e.from < 0 ||
      !(e.to === null || (Number.isSafeInteger(e.to) && e.to >= e.from)) ||
      !isTime(st.expires) ||
      st.expires <= st.issued
    )
      throw new TrustError('malformed', 'a delegation needs a site, an epoch range and an expiry after its issue time');
    const statement: Delegation = {
      type: 'delegation',
      version: 1,
      site: st.site,
      key: st.key,
      epochs: { from: e.from, to: e.to },
      issued: st.issued,
      expires: st.expires,
    };
    return { statement, signatures: v.signatures.map((s) => ({ key: s.key, sig: s.sig })) };
  }
  if (st.type === 'revocation') {
    if (typeof st.reason !== 'string' || st.reason.length > 500)
      throw new TrustError('malformed', 'a revocation needs a reason (at most 500 characters)');
    const statement: Revocation = { type: 'revocation', version: 1, key: st.key, issued: st.issued, reason: st.reason };
    return { statement, signatures: v.signatures.map((s) => ({ key: s.key, sig: s.sig })) };
  }
  throw new TrustError('malformed', 'a statement is a delegation or a revocation');
}

/** Throws unless `value` is a well-formed bundle; each statement in it is parsed (not yet checked against roots). */
export function parseBundle(value: unknown): TrustBundle {
  const v = value as TrustBundle;
  if (
    !v ||
    typeof v !== 'object' ||
    !Array.isArray(v.delegations) ||
    !Array.isArray(v.revocations) ||
    v.delegations.length + v.revocations.length > 1000
  )
    throw new TrustError('malformed', 'a trust bundle has a list of delegations and one of revocations');
  const delegations = v.delegations.map(parseSigned);
  const revocations = v.revocations.map(parseSigned);
  if (
    delegations.some((d) => d.statement.type !== 'delegation') ||
    revocations.some((r) => r.statement.type !== 'revocation')
  )
    throw new TrustError('malformed', 'a trust bundle lists delegations and revocations apart');
  return { delegations: delegations as Signed<Delegation>[], revocations: revocations as Signed<Revocation>[] };
}

// ---------------------------------------------------------------------------
// Site-signed statements

/**
 * Who signed something a site key signs, and at which epoch: a mirror checks
 * that a current delegation of `key` covers `at`.
 */
export interface SiteSignature {
  key: KeyId;
  /** The signing server's epoch (not the epoch of the data, which may be older history). */
  at: number;
  sig: string;
}

/** The origin's signed freshness (like a Debian Release file's Valid-Until); the `hello` of every feed connection. */
export interface Heartbeat {
  epoch: number;
  head: number;
  /** ms since 1970 at the origin. */
  time: number;
  validUntil: number;
  signature: SiteSignature;
}

export function heartbeatPayload(h: Omit<Heartbeat, 'signature'>, key: KeyId): Buffer {
  return Buffer.from(`hyperstatic-heartbeat-v1\n${JSON.stringify([key, h.epoch, h.head, h.time, h.validUntil])}`);
}

/** A site key's proof that a blob was taken down: lets any mirror relay history without the purged bytes. */
export interface PurgeProof {
  sha256: string;
  signature: SiteSignature;
}

export function purgePayload(sha256: string, key: KeyId, at: number): Buffer {
  return Buffer.from(`hyperstatic-purge-v1\n${JSON.stringify([key, at, sha256])}`);
}

/** Signs for a site: its key, its id, and the epoch it signs at. */
export interface SiteSigner {
  keyId: KeyId;
  sign(payload: Buffer): string;
}

export function siteSigner(privateKey: KeyObject): SiteSigner {
  return {
    keyId: keyIdOf(privateKey),
    sign: (payload) => cryptoSign(null, payload, privateKey).toString('base64'),
  };
}

export function signHeartbeat(fields: Omit<Heartbeat, 'signature'>, signer: SiteSigner): Heartbeat {
  const sig = signer.sign(heartbeatPayload(fields, signer.keyId));
  return { ...fields, signature: { key: signer.keyId, at: fields.epoch, sig } };
}

export function signPurge(sha256: string, at: number, signer: SiteSigner): PurgeProof {
  return { sha256, signature: { key: signer.keyId, at, sig: signer.sign(purgePayload(sha256, signer.keyId, at)) } };
}

export function parseSiteSignature(value: unknown): SiteSignature {
  const s = value as SiteSignature;
  if (
    !s ||
    typeof s !== 'object' ||
    !isKeyId(s.key) ||
    !Number.isSafeInteger(s.at) ||
    s.at < 0 ||
    typeof s.sig !== 'string'
  )
    throw new TrustError('unsigned', 'missing or malformed signature (key, at, sig)');
  return { key: s.key, at: s.at, sig: s.sig };
}

export function parseHeartbeat(value: unknown): Heartbeat {
  if (value === undefined || value === null) throw new TrustError('unsigned', 'no signed heartbeat');
  const h = value as Heartbeat;
  if (
    !h ||
    typeof h !== 'object' ||
    !Number.isSafeInteger(h.epoch) ||
    h.epoch < 0 ||
    !Number.isSafeInteger(h.head) ||
    h.head < 0 ||
    !isTime(h.time) ||
    !isTime(h.validUntil) ||
    h.validUntil < h.time
  )
    throw new TrustError('malformed', 'a heartbeat needs an epoch, a head, a time and a valid-until after it');
  const signature = parseSiteSignature(h.signature);
  if (signature.at !== h.epoch) throw new TrustError('epoch', 'a heartbeat is signed at its own epoch');
  return { epoch: h.epoch, head: h.head, time: h.time, validUntil: h.validUntil, signature };
}

export function parsePurgeProof(value: unknown): PurgeProof {
  const p = value as PurgeProof;
  if (!p || typeof p !== 'object' || typeof p.sha256 !== 'string' || !SHA256_HEX.test(p.sha256))
    throw new TrustError('malformed', 'a purge proof names a sha256');
  return { sha256: p.sha256, signature: parseSiteSignature(p.signature) };
}

/** True when `sig` (base64) is `key`'s ed25519 signature over `payload`. */
export function verifySig(payload: Buffer, sig: string, key: KeyId): boolean {
  const bytes = Buffer.from(sig, 'base64');
  if (bytes.length !== 64) return false;
  try {
    return cryptoVerify(null, payload, publicKeyFromId(key), bytes);
  } catch {
    return false;
  }
}

/** The largest time a JavaScript Date can hold (ms); beyond it dates cannot even be printed. */
const MAX_TIME = 8.64e15;

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= MAX_TIME;
}
