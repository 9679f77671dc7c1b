// The change feed's wire format, shared by the origin (writer), mirrors
// (readers and relays) and cache proxies (readers).
//
// Transport: Server-Sent Events at `GET /feed?after=SEQ` (or a
// `Last-Event-ID: SEQ` header on reconnect). Events:
//   event: trust     data: TrustBundle                     first, and again when it changes
//   event: hello     data: {"epoch":E,"head":SEQ,"heartbeat":Heartbeat}   once on connect
//   event: batch     id: LAST_SEQ_OF_BATCH   data: FeedBatch  one per save
//   event: heartbeat data: Heartbeat                       every few seconds (FEED_HEARTBEAT_MS)
//   : ping                                                  comment, every 15 s
// A batch is delivered whole or not at all; within a batch, content pages and
// media come before the indexes that link to them.
//
// Authenticity (docs/trust.md): every batch carries `signature`, an ed25519
// signature by a site key over batchPayload(batch, key, at) (the signer, its
// epoch, the batch's epoch and number and every field of every entry), and
// the `hello` carries a signed heartbeat naming the server's epoch. A mirror
// accepts them only from a key its trust anchor covers for that epoch, so a
// man in the middle or a hostile peer can relay the feed but cannot alter it
// or claim an epoch. `sig` is the older single-key signature
// (batchSigningPayload), still sent for mirrors not yet upgraded. Blobs need
// no signature: they are fetched by sha256 and verified against it.
//
// Bootstrap: `GET /manifest` streams NDJSON (one JSON object per line):
//   {"type":"head","epoch":E,"cursor":SEQ,"pages":N}   first line
//   {"path":…,"op":…,"sha256":…,"size":…,"contentType":…,"lastModified":…,"kind":…,"seq":…}   one per live page, by path
//   {"type":"end","count":N,"sig":BASE64}        last line
// `sig` signs manifestSigningPayload(sha256 of every byte before the end line),
// so a mirror can stream the manifest in bounded memory and still trust it.
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CODINGS, type Variants } from './content-coding';
import { SHA256_HEX } from './hash';
import {
  parseSiteSignature,
  publicKeyFromId,
  siteSigner,
  TrustError,
  type KeyId,
  type SiteSignature,
  type TrustBundle,
} from './trust/statements';
import type { TrustState } from './trust/trust-state';

export const PAGE_KINDS = ['article', 'index', 'feed', 'media'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

/**
 * put: serve the blob with 200; gone: serve the blob (a tombstone) with 410; delete: forget the path (404);
 * purge: a takedown: drop the blob `sha256` for good (its path is `/blobs/SHA256`, size 0, content type ''),
 * it names no page and needs no blob (docs/design.md, "Change journal").
 */
export const OPS = ['put', 'gone', 'delete', 'purge'] as const;
export type Op = (typeof OPS)[number];

export interface JournalEntry {
  seq: number;
  epoch: number;
  batch: number;
  path: string;
  op: Op;
  /** sha256 of the body; null for op=delete; the blob to drop for op=purge. */
  sha256: string | null;
  size: number;
  contentType: string;
  /** When the page's content last changed, ms since the epoch (becomes Last-Modified). */
  lastModified: number;
  kind: PageKind;
  /**
   * The body itself, base64, for small pages (≤ INLINE_MAX_BYTES), saving a
   * round trip per blob over long links. Not covered by the signature: it is
   * checked against the (signed) sha256 like any fetched blob.
   */
  inline?: string;
  /**
   * Optional: the page's gzip and brotli encodings, each its own blob
   * (common/content-coding.ts). Like `inline`, not covered by the signature:
   * a receiver keeps a variant only if it decodes to the signed sha256.
   */
  variants?: Variants;
}

/** Bodies up to this size travel inside the batch. */
export const INLINE_MAX_BYTES = 16 * 1024;

export interface FeedBatch {
  epoch: number;
  batch: number;
  entries: JournalEntry[];
  /** The site key's signature over batchPayload(). */
  signature?: SiteSignature;
  /** Legacy: base64 ed25519 signature over batchSigningPayload(), for mirrors that pin one key (MIRROR_PUBLIC_KEY) and predate `signature`. */
  sig?: string;
}

export interface FeedHello {
  /** The server's epoch: trusted only as far as `heartbeat` proves it. */
  epoch: number;
  /** The server's own journal head (a relaying mirror's cursor); unsigned, for lag display and eviction only. */
  head: number;
  /** The newest heartbeat the server holds, signed by a site key; raw until a TrustState checks it. */
  heartbeat?: unknown;
}

/**
 * The response field in which a mirror names the journal position (the seq
 * of the last entry it applied) its answer reflects: every page, 304, 404
 * and 410 it serves carries it. A cache that evicted a path at position P
 * fills it only from an answer at P or later (cache-proxy/catch-up.ts).
 */
export const POSITION_HEADER = 'hyperstatic-position';

/** A Hyperstatic-Position value, or undefined when absent or not a whole number. */
export function parsePosition(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

export const FEED_PATH = '/feed';
export const BLOB_PATH = '/blobs/';
export const MANIFEST_PATH = '/manifest';
/** Mirrors POST their sync status here (app/feed/mirror-status.ts). */
export const MIRROR_STATUS_PATH = '/mirror-status';

/** The bytes a batch signature covers: every field of every entry, in order, plus the batch's own epoch and number. */
export function batchSigningPayload(batch: FeedBatch): Buffer {
  return Buffer.from(
    `hyperstatic-feed-batch-v1\n${JSON.stringify([batch.epoch, batch.batch, entryFields(batch)])}`,
    'utf8',
  );
}

function entryFields(batch: FeedBatch): unknown[] {
  return batch.entries.map((e) => [
    e.seq,
    e.epoch,
    e.batch,
    e.path,
    e.op,
    e.sha256,
    e.size,
    e.contentType,
    e.lastModified,
    e.kind,
  ]);
}

/** The bytes a site key signs for a batch: who signs at which epoch, the batch's epoch and number, every entry's fields. */
export function batchPayload(batch: FeedBatch, key: KeyId, at: number): Buffer {
  return Buffer.from(
    `hyperstatic-feed-batch-v2\n${JSON.stringify([key, at, batch.epoch, batch.batch, entryFields(batch)])}`,
    'utf8',
  );
}

/** Signs a batch as the server at epoch `at` (never below the batch's own epoch); keeps the legacy `sig` too. */
export function signBatch(batch: FeedBatch, privateKey: KeyObject, at: number = batch.epoch): FeedBatch {
  const signer = siteSigner(privateKey);
  const epoch = Math.max(at, batch.epoch);
  return {
    ...batch,
    signature: { key: signer.keyId, at: epoch, sig: signer.sign(batchPayload(batch, signer.keyId, epoch)) },
    sig: cryptoSign(null, batchSigningPayload(batch), privateKey).toString('base64'),
  };
}

/**
 * Throws (TrustError) unless the batch carries a trusted key's signature at
 * an epoch no lower than its own. A mirror that pins one key also takes the
 * version-1 signature alone, as before (history applied before its upstream
 * was upgraded carries only that); one that pins roots never does.
 */
export function verifyBatchTrust(batch: FeedBatch, trust: TrustState): void {
  const s = batch.signature;
  if (!s && batch.sig && trust.anchor.kind === 'pinned') {
    const sig = Buffer.from(batch.sig, 'base64');
    if (sig.length !== 64 || !cryptoVerify(null, batchSigningPayload(batch), publicKeyFromId(trust.anchor.key), sig))
      throw new TrustError('bad-signature', `batch ${batch.batch} has a bad signature`);
    return;
  }
  if (s && s.at < batch.epoch)
    throw new TrustError('epoch', `batch ${batch.batch} of epoch ${batch.epoch} is signed at epoch ${s.at}`);
  // Roots: a key bounded to an older epoch (a seized primary delegated `1-1`) cannot add to the journal
  // once a newer epoch is known; a promoted origin re-signs the history it serves at its own epoch.
  if (s && trust.anchor.kind === 'roots' && s.at < trust.highestEpoch())
    throw new TrustError(
      'stale',
      `batch ${batch.batch} is signed at epoch ${s.at}, below epoch ${trust.highestEpoch()}`,
    );
  trust.check(s, (key, at) => batchPayload(batch, key, at));
}

/** Throws unless `batch.sig` is the pinned key's signature over the batch. */
export function verifyBatch(batch: FeedBatch, publicKey: KeyObject): void {
  if (typeof batch.sig !== 'string' || batch.sig === '')
    throw new FeedSignatureError(`batch ${batch.batch} is unsigned`);
  const sig = Buffer.from(batch.sig, 'base64');
  if (sig.length !== 64 || !cryptoVerify(null, batchSigningPayload(batch), publicKey, sig)) {
    throw new FeedSignatureError(`batch ${batch.batch} has a bad signature`);
  }
}

export interface ManifestHead {
  type: 'head';
  epoch: number;
  cursor: number;
  /** How many page lines follow (for progress bars). */
  pages?: number;
  /** The trust statements a bootstrapping mirror needs to check the end line's signature (docs/trust.md). */
  trust?: TrustBundle;
}

export interface ManifestPage {
  path: string;
  op: Extract<Op, 'put' | 'gone'>;
  sha256: string;
  size: number;
  contentType: string;
  lastModified: number;
  kind: PageKind;
  seq: number;
  /** The page's compressed encodings (covered by the manifest's signature, which signs every byte). */
  variants?: Variants;
}

export interface ManifestEnd {
  type: 'end';
  count: number;
  /** The site key's signature over manifestPayload(). */
  signature?: SiteSignature;
  /** Legacy single-key signature over manifestSigningPayload(). */
  sig: string;
}

export function manifestPayload(digestHex: string, key: KeyId, at: number): Buffer {
  return Buffer.from(`hyperstatic-manifest-v2\n${JSON.stringify([key, at, digestHex])}`, 'utf8');
}

/** The end line's signatures: the site key's (at the server's epoch) and the legacy one. */
export function signManifestEnd(
  digestHex: string,
  privateKey: KeyObject,
  at: number,
): Pick<ManifestEnd, 'signature' | 'sig'> {
  const signer = siteSigner(privateKey);
  return {
    signature: { key: signer.keyId, at, sig: signer.sign(manifestPayload(digestHex, signer.keyId, at)) },
    sig: signManifestDigest(digestHex, privateKey),
  };
}

export function manifestSigningPayload(digestHex: string): Buffer {
  return Buffer.from(`hyperstatic-manifest-v1\n${digestHex}`, 'utf8');
}

export function signManifestDigest(digestHex: string, privateKey: KeyObject): string {
  return cryptoSign(null, manifestSigningPayload(digestHex), privateKey).toString('base64');
}

export function verifyManifestDigest(digestHex: string, sig: string, publicKey: KeyObject): boolean {
  const bytes = Buffer.from(sig, 'base64');
  return bytes.length === 64 && cryptoVerify(null, manifestSigningPayload(digestHex), publicKey, bytes);
}

/** A running sha256 of the manifest bytes, as both ends compute it. */
export function manifestHasher(): { update(line: string): void; digest(): string } {
  const hash = createHash('sha256');
  return { update: (line) => hash.update(line, 'utf8'), digest: () => hash.digest('hex') };
}

/** Throws unless `value` is a well-formed manifest page line. */
export function parseManifestPage(value: unknown): ManifestPage {
  const p = value as ManifestPage;
  if (!p || typeof p !== 'object' || !isSafePublicPath(p.path))
    throw new Error('manifest line has an unsafe or missing path');
  if ((p.op !== 'put' && p.op !== 'gone') || !PAGE_KINDS.includes(p.kind))
    throw new Error(`manifest line ${p.path} has an unknown op or kind`);
  if (typeof p.sha256 !== 'string' || !SHA256_HEX.test(p.sha256))
    throw new Error(`manifest line ${p.path} has a bad sha256`);
  if (
    !Number.isSafeInteger(p.size) ||
    p.size < 0 ||
    !Number.isSafeInteger(p.lastModified) ||
    !Number.isSafeInteger(p.seq) ||
    typeof p.contentType !== 'string'
  ) {
    throw new Error(`manifest line ${p.path} has bad metadata`);
  }
  if (p.variants !== undefined && !validVariants(p.variants, false))
    throw new Error(`manifest line ${p.path} has bad variants`);
  return manifestPageOf(p);
}

/** Exactly the wire fields of a manifest page, in wire order (a richer record passed in carries nothing more). */
export function manifestPageOf(p: ManifestPage): ManifestPage {
  return {
    path: p.path,
    op: p.op,
    sha256: p.sha256,
    size: p.size,
    contentType: p.contentType,
    lastModified: p.lastModified,
    kind: p.kind,
    seq: p.seq,
    ...(p.variants ? { variants: p.variants } : {}),
  };
}

/** One page line of the manifest, newline included, as the origin and relaying mirrors write it. */
export function manifestPageLine(p: ManifestPage): string {
  return `${JSON.stringify(manifestPageOf(p))}\n`;
}

/** A signature that is missing or does not verify against the pinned key. */
export class FeedSignatureError extends Error {
  readonly code = 'HS_FEED_BAD_SIGNATURE';
  constructor(message: string) {
    super(message);
    this.name = 'FeedSignatureError';
  }
}

/**
 * Reads a pinned public key given as PEM text, base64 of the raw 32-byte
 * ed25519 key, or base64 of its DER (SPKI) form.
 */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return createPublicKey(trimmed);
  const der = Buffer.from(trimmed, 'base64');
  if (der.length === 32) {
    // RFC 8410 §4: SPKI prefix of an Ed25519 public key.
    return createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), der]),
      format: 'der',
      type: 'spki',
    });
  }
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/** The raw 32-byte public key, base64: the short form operators paste into MIRROR_PUBLIC_KEY. */
export function publicKeyBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
}

/** Public paths: absolute, no dot segments, no empty segments, no backslashes or control characters. */
export function isSafePublicPath(p: string): boolean {
  if (!p.startsWith('/') || p.length > 1024) return false;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\\\0-\x1f\x7f?#%]/.test(p)) return false;
  return p
    .split('/')
    .slice(1)
    .every((seg, i, all) => (seg === '' ? i === all.length - 1 : seg !== '.' && seg !== '..'));
}

/** Known codings only, each with a well-formed sha256 and size (and, in the feed, an inline body of bounded length). */
function validVariants(value: unknown, inlineAllowed: boolean): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.entries(value as Record<string, unknown>).every(([coding, v]) => {
    const variant = v as { sha256?: unknown; size?: unknown; inline?: unknown };
    return (
      (CODINGS as readonly string[]).includes(coding) &&
      !!variant &&
      typeof variant === 'object' &&
      typeof variant.sha256 === 'string' &&
      SHA256_HEX.test(variant.sha256) &&
      Number.isSafeInteger(variant.size) &&
      (variant.size as number) >= 0 &&
      (variant.inline === undefined ||
        (inlineAllowed &&
          typeof variant.inline === 'string' &&
          variant.inline.length <= Math.ceil(INLINE_MAX_BYTES / 3) * 4))
    );
  });
}

/** Throws unless `value` is a well-formed batch; a mirror never trusts the wire. */
export function parseFeedBatch(value: unknown): FeedBatch {
  const b = value as FeedBatch;
  if (
    !b ||
    typeof b !== 'object' ||
    !Number.isSafeInteger(b.epoch) ||
    !Number.isSafeInteger(b.batch) ||
    !Array.isArray(b.entries) ||
    b.entries.length === 0
  ) {
    throw new Error('malformed batch');
  }
  let previous = -Infinity;
  for (const e of b.entries) {
    if (!Number.isSafeInteger(e.seq) || e.seq <= previous) throw new Error('entries out of order');
    previous = e.seq;
    if (e.epoch !== b.epoch || e.batch !== b.batch) throw new Error(`entry ${e.seq} belongs to another batch or epoch`);
    if (!isSafePublicPath(e.path)) throw new Error(`entry ${e.seq} has an unsafe path`);
    if (!OPS.includes(e.op) || !PAGE_KINDS.includes(e.kind))
      throw new Error(`entry ${e.seq} has an unknown op or kind`);
    if (e.op === 'delete' ? e.sha256 !== null : typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256)) {
      throw new Error(`entry ${e.seq} has a bad sha256`);
    }
    if (e.op === 'purge' && (e.path !== `${BLOB_PATH}${e.sha256}` || e.size !== 0 || e.inline !== undefined)) {
      throw new Error(`entry ${e.seq} is a purge that is not of ${BLOB_PATH}SHA256 with size 0 and no body`);
    }
    if (
      !Number.isSafeInteger(e.size) ||
      e.size < 0 ||
      !Number.isSafeInteger(e.lastModified) ||
      typeof e.contentType !== 'string'
    ) {
      throw new Error(`entry ${e.seq} has bad metadata`);
    }
    if (
      e.inline !== undefined &&
      (typeof e.inline !== 'string' || e.inline.length > Math.ceil(INLINE_MAX_BYTES / 3) * 4)
    ) {
      throw new Error(`entry ${e.seq} has a bad inline body`);
    }
    if (e.variants !== undefined && (e.op === 'delete' || e.op === 'purge' || !validVariants(e.variants, true)))
      throw new Error(`entry ${e.seq} has bad variants`);
  }
  if (b.sig !== undefined && typeof b.sig !== 'string') throw new Error('batch signature is not a string');
  if (b.signature !== undefined) b.signature = parseSiteSignature(b.signature);
  return b;
}
