// Cost of signed freshness (docs/trust.md, "Signed freshness"): what one
// heartbeat costs the origin to sign and a mirror to check (against a
// root-delegated key, as in production), and what it adds to each feed
// connection's traffic at the default FEED_HEARTBEAT_MS. The reference in
// the same run is one batch signature check, which every save already pays.
//   npm run bench -- heartbeat
import { generateKeyPairSync } from 'node:crypto';
import { signBatch, verifyBatchTrust, type FeedBatch } from '../common/feed-format';
import { keyIdOf, signHeartbeat, signRootStatement, siteSigner } from '../common/trust/statements';
import { TrustState } from '../common/trust/trust-state';
import { report } from './report';

const N = 5000;
const HEARTBEAT_MS = 5000;

function micros(fn: (i: number) => void): number {
  for (let i = 0; i < 200; i++) fn(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(i);
  return Number(process.hrtime.bigint() - started) / N / 1000;
}

const site = generateKeyPairSync('ed25519').privateKey;
const root = generateKeyPairSync('ed25519').privateKey;
const signer = siteSigner(site);
const trust = new TrustState({ kind: 'roots', roots: [keyIdOf(root)], threshold: 1 });
const now = Date.now();
trust.absorb({
  delegations: [
    signRootStatement(
      {
        statement: {
          type: 'delegation',
          version: 1,
          site: 'primary',
          key: keyIdOf(site),
          epochs: { from: 1, to: null },
          issued: now - 1000,
          expires: now + 86_400_000,
        },
        signatures: [],
      },
      root,
    ),
  ],
  revocations: [],
});
const heartbeats = Array.from({ length: N + 200 }, (_, i) =>
  signHeartbeat({ epoch: 1, head: 100_000 + i, time: now + i, validUntil: now + i + 60_000 }, signer),
);
const batch: FeedBatch = signBatch(
  {
    epoch: 1,
    batch: 7,
    entries: Array.from({ length: 19 }, (_, i) => ({
      seq: 100 + i,
      epoch: 1,
      batch: 7,
      path: `/news/page-${i}/`,
      op: 'put' as const,
      sha256: 'a'.repeat(64),
      size: 9000,
      contentType: 'text/html; charset=utf-8',
      lastModified: now,
      kind: 'index' as const,
    })),
  },
  site,
  1,
);

const sign = micros((i) => signHeartbeat({ epoch: 1, head: i, time: now + i, validUntil: now + i + 60_000 }, signer));
let k = 0;
const check = micros(() => trust.acceptHeartbeat(heartbeats[k++]));
const batchCheck = micros(() => verifyBatchTrust(batch, trust));
const eventBytes = Buffer.byteLength(`event: heartbeat\ndata: ${JSON.stringify(heartbeats[0])}\n\n`);
report('heartbeat', 'Signed heartbeat: cost per heartbeat, and per connection at the default interval', [
  { what: 'origin: sign one heartbeat (µs)', µs: sign.toFixed(1) },
  { what: 'mirror: check one heartbeat, delegated key (µs)', µs: check.toFixed(1) },
  { what: 'reference: check one 19-entry batch (µs)', µs: batchCheck.toFixed(1) },
  { what: 'heartbeat check / batch check (ratio)', µs: (check / batchCheck).toFixed(2) },
  { what: `bytes per heartbeat event`, µs: eventBytes },
  { what: `bytes/s per feed connection at ${HEARTBEAT_MS} ms`, µs: Math.round(eventBytes / (HEARTBEAT_MS / 1000)) },
  {
    what: `origin CPU share for signing at ${HEARTBEAT_MS} ms`,
    µs: `${((sign / 1000 / HEARTBEAT_MS) * 100).toFixed(4)} %`,
  },
]);
