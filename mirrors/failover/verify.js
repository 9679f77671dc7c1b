// The checks a reader's browser runs on what another mirror sends it
// (docs/mirrors.md, "Browser failover"), in plain JavaScript with WebCrypto
// only, so the same file runs in the service worker (served as part of
// /sw.js by mirrors/failover-route.ts) and under Node in
// mirrors/failover/verify.test.ts. The signed bytes are exactly those of
// common/trust/statements.ts, common/trust/mirror-list.ts and
// common/feed-format.ts (batchPayload): a change there is a new version
// there, and here.
/* global crypto, TextEncoder, atob */
'use strict';

// Read by worker.js, which follows this file in /sw.js.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
const hsVerify = (() => {
  /** Delegations may be issued up to 5 minutes "in the future" (common/trust/trust-state.ts, ISSUE_SKEW_MS). */
  const ISSUE_SKEW_MS = 5 * 60_000;
  const encoder = new TextEncoder();

  class Refused extends Error {
    constructor(reason, message) {
      super(message);
      this.name = 'Refused';
      this.reason = reason;
    }
  }

  function bytesOf(base64) {
    const text = atob(base64);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i);
    return out;
  }

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function sha256Hex(bytes) {
    return hex(await crypto.subtle.digest('SHA-256', bytes));
  }

  const keys = new Map();

  /** True when `sig` (base64) is the ed25519 signature of `text` by key id `key` (raw 32 bytes, base64). */
  async function verifySig(text, sig, key) {
    try {
      const raw = bytesOf(key);
      const signature = bytesOf(sig);
      if (raw.length !== 32 || signature.length !== 64) return false;
      let imported = keys.get(key);
      if (!imported) {
        imported = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
        keys.set(key, imported);
      }
      return await crypto.subtle.verify({ name: 'Ed25519' }, imported, signature, encoder.encode(text));
    } catch {
      return false;
    }
  }

  function rootPayload(s) {
    const fields =
      s.type === 'delegation'
        ? [s.version, s.site, s.key, s.epochs.from, s.epochs.to, s.issued, s.expires]
        : [s.version, s.key, s.issued, s.reason];
    return `hyperstatic-${s.type}-v${s.version}\n${JSON.stringify(fields)}`;
  }

  /** True when `threshold` distinct pinned roots signed the statement. */
  async function meetsThreshold(signed, anchor) {
    if (!signed || !signed.statement || !Array.isArray(signed.signatures)) return false;
    const text = rootPayload(signed.statement);
    const good = new Set();
    for (const s of signed.signatures) {
      if (!s || !anchor.roots.includes(s.key) || good.has(s.key)) continue;
      if (await verifySig(text, s.sig, s.key)) good.add(s.key);
    }
    return good.size >= anchor.threshold;
  }

  /**
   * Throws unless the anchor lets `key` sign at epoch `at` at time `time`:
   * the pinned site key, or a delegation by k of the pinned roots covering
   * both, with no revocation of the key among `trust`'s statements.
   */
  async function checkSigner(anchor, trust, key, at, time, what) {
    if (anchor.kind === 'pinned') {
      if (key !== anchor.key)
        throw new Refused('not-delegated', `${what} is signed by another key than the pinned one`);
      return;
    }
    const bundle = trust || { delegations: [], revocations: [] };
    for (const r of bundle.revocations || [])
      if (r && r.statement && r.statement.key === key && (await meetsThreshold(r, anchor)))
        throw new Refused('revoked', `the key that signed ${what} is revoked`);
    for (const d of bundle.delegations || []) {
      const s = d && d.statement;
      if (!s || s.type !== 'delegation' || s.key !== key) continue;
      const covers =
        s.epochs.from <= at &&
        (s.epochs.to === null || at <= s.epochs.to) &&
        s.issued - ISSUE_SKEW_MS <= time &&
        time <= s.expires;
      if (covers && (await meetsThreshold(d, anchor))) return;
    }
    throw new Refused('not-delegated', `no delegation by ${anchor.threshold} pinned root key(s) covers ${what}`);
  }

  /** A signed mirror list (common/trust/mirror-list.ts): its signature, and its key against the anchor. */
  async function verifyMirrorList(list, anchor) {
    if (!list || list.type !== 'hyperstatic-mirror-list' || list.version !== 1 || !Array.isArray(list.mirrors))
      throw new Refused('malformed', 'not a Hyperstatic mirror list');
    const { key, at, sig } = list.signature || {};
    const fields = [key, at, list.site, list.issued, list.mirrors.map((m) => [m.url, m.kind, m.region, m.note])];
    if (!(await verifySig(`hyperstatic-mirror-list-v1\n${JSON.stringify(fields)}`, sig, key)))
      throw new Refused('bad-signature', "the mirror list's signature does not verify");
    await checkSigner(anchor, list.trust, key, at, list.issued, 'the mirror list');
    return list;
  }

  /**
   * A mirror's newest heartbeat (common/trust/statements.ts): signed by a key
   * the anchor trusts at its epoch, and not expired more than `staleMs` ago.
   * Returns how stale it is: 0 while it vouches for the copy.
   */
  async function verifyHeartbeat(h, trust, anchor, now, staleMs) {
    if (!h || !h.signature || !Number.isSafeInteger(h.head) || !Number.isSafeInteger(h.validUntil))
      throw new Refused('unsigned', 'the mirror has no signed heartbeat');
    const { key, at, sig } = h.signature;
    if (at !== h.epoch) throw new Refused('epoch', 'a heartbeat is signed at its own epoch');
    const text = `hyperstatic-heartbeat-v1\n${JSON.stringify([key, h.epoch, h.head, h.time, h.validUntil])}`;
    if (!(await verifySig(text, sig, key)))
      throw new Refused('bad-signature', "the heartbeat's signature does not verify");
    await checkSigner(anchor, trust, key, at, h.time, 'the heartbeat');
    if (h.validUntil + staleMs < now)
      throw new Refused(
        'expired',
        `the mirror's copy was last confirmed ${new Date(h.validUntil).toISOString()}: too long ago to trust`,
      );
    return Math.max(0, now - h.validUntil);
  }

  /**
   * The entry a signed batch (common/feed-format.ts, batchPayload) gives
   * `path`: the batch's signature, its key against the anchor at the
   * heartbeat's time, and the entry no later than the heartbeat's head.
   */
  async function verifyProof(batch, path, heartbeat, trust, anchor) {
    if (!batch || !Array.isArray(batch.entries) || !batch.signature)
      throw new Refused('unsigned', `no signed change names ${path}`);
    const { key, at, sig } = batch.signature;
    const entries = batch.entries.map((e) => [
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
    const text = `hyperstatic-feed-batch-v2\n${JSON.stringify([key, at, batch.epoch, batch.batch, entries])}`;
    if (!(await verifySig(text, sig, key)))
      throw new Refused('bad-signature', "the change's signature does not verify");
    await checkSigner(anchor, trust, key, at, heartbeat.time, 'the change');
    const entry = batch.entries.filter((e) => e.path === path).pop();
    if (!entry) throw new Refused('malformed', `the signed change does not name ${path}`);
    if (entry.seq > heartbeat.head) throw new Refused('stale', 'the change is newer than the heartbeat vouches for');
    return entry;
  }

  /**
   * The pages of a signed manifest (common/feed-format.ts, manifestPayload:
   * the site key signs the sha256 of every byte before the end line), by
   * path, when its signer is trusted at the heartbeat's time and its cursor
   * is no later than the heartbeat's head.
   */
  async function verifyManifest(text, heartbeat, trust, anchor) {
    if (!text.endsWith('\n')) throw new Refused('malformed', 'the manifest was cut short');
    const lines = text.slice(0, -1).split('\n');
    const endLine = lines.pop();
    const head = JSON.parse(lines[0] || 'null');
    const end = JSON.parse(endLine || 'null');
    if (!head || head.type !== 'head' || !end || end.type !== 'end' || !end.signature)
      throw new Refused('malformed', 'not a signed manifest');
    const digest = await sha256Hex(encoder.encode(text.slice(0, text.length - endLine.length - 1)));
    const { key, at, sig } = end.signature;
    if (!(await verifySig(`hyperstatic-manifest-v2\n${JSON.stringify([key, at, digest])}`, sig, key)))
      throw new Refused('bad-signature', "the manifest's signature does not verify");
    if (at < head.epoch) throw new Refused('epoch', 'a manifest is signed at an epoch below its own');
    const statements = {
      delegations: [...((trust && trust.delegations) || []), ...((head.trust && head.trust.delegations) || [])],
      revocations: [...((trust && trust.revocations) || []), ...((head.trust && head.trust.revocations) || [])],
    };
    await checkSigner(anchor, statements, key, at, heartbeat.time, 'the manifest');
    if (head.cursor > heartbeat.head)
      throw new Refused('stale', 'the manifest is newer than the heartbeat vouches for');
    if (end.count !== lines.length - 1)
      throw new Refused('malformed', 'the manifest does not hold the pages it counts');
    const pages = new Map();
    for (const line of lines.slice(1)) {
      const page = JSON.parse(line);
      pages.set(page.path, page);
    }
    return pages;
  }

  /** Throws unless `bytes` are exactly the entry's signed body. */
  async function checkBody(bytes, entry) {
    if (bytes.byteLength !== entry.size || (await sha256Hex(bytes)) !== entry.sha256)
      throw new Refused('tampered', `${entry.path} does not match its signed sha256`);
  }

  return { Refused, verifyMirrorList, verifyHeartbeat, verifyProof, verifyManifest, checkBody, sha256Hex };
})();
