// The origin's change feed: a long-lived Server-Sent Events stream per
// mirror, starting after the cursor it gives (common/feed-format.ts).
// Entries are pushed when the producer announces a new journal head; a slow
// re-check covers an announcement lost on the way. Every connection starts
// with the trust statements mirrors need (docs/trust.md) and a signed hello;
// a signed heartbeat follows every few seconds, so a mirror can tell a quiet
// origin from a withheld one.
import type { KeyObject } from 'node:crypto';
import type { Request, Response } from 'express';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { signBatch, type FeedBatch } from '../../common/feed-format';
import { delegationState } from '../../common/trust/ceremony';
import { signHeartbeat, siteSigner, type Heartbeat, type TrustBundle } from '../../common/trust/statements';
import type { JournalNotifier } from '../../common/journal-notifier';
import type { Logger } from '../../common/logger';
import { BadRequestError } from '../errors';
import type { JournalReader } from './journal-reader';

const RECHECK_MS = 5_000;
/** Bytes queued for one subscriber beyond which it counts as not reading (well above one large batch). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export interface FeedHub {
  handle(req: Request, res: Response): Promise<void>;
  close(): void;
}

interface Subscriber {
  cursor: number;
  res: Response;
  busy: boolean;
  again: boolean;
}

/** Every subscriber gets the same recent batches: each is signed once and kept for the next reader. */
function signedBatchCache(signingKey: KeyObject, serverEpoch: () => number): (batch: FeedBatch) => string {
  const signed = new Map<string, { unsigned: string; json: string }>();
  return (batch) => {
    // Keyed by epoch too: after a promotion a batch number may name different entries,
    // and the same batch is signed again at the server's new epoch.
    const at = Math.max(serverEpoch(), batch.epoch);
    const key = `${at}:${batch.epoch}:${batch.batch}`;
    // A takedown rewrites earlier entries and drops their inline bodies (producer/takedown.ts):
    // reuse a signature only for exactly the same batch, never serve the old one.
    const unsigned = JSON.stringify(batch);
    let cached = signed.get(key);
    if (cached?.unsigned !== unsigned) {
      cached = { unsigned, json: JSON.stringify(signBatch(batch, signingKey, at)) };
      signed.set(key, cached);
      if (signed.size > 256) signed.delete(signed.keys().next().value as string);
    }
    return cached.json;
  };
}

/** The cursor a mirror resumes from: `?after=` or the SSE `Last-Event-ID` it reconnects with. */
function cursorOf(req: Request): number {
  const raw = req.query.after ?? req.get('last-event-id') ?? '0';
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw))
    throw new BadRequestError('after must be a journal sequence number', 'after');
  return Number(raw);
}

function openEventStream(res: Response): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/**
 * Writes every batch after the subscriber's cursor, then again while new heads
 * were announced meanwhile; one writer per subscriber at a time.
 */
async function streamBatches(
  s: Subscriber,
  ctx: {
    reader: JournalReader;
    logger: Logger;
    encode: (batch: FeedBatch) => string;
    open: (s: Subscriber) => boolean;
  },
): Promise<void> {
  if (s.busy) {
    s.again = true;
    return;
  }
  s.busy = true;
  try {
    do {
      s.again = false;
      for (;;) {
        const batches = await ctx.reader.batchesAfter(s.cursor);
        if (batches.length === 0 || !ctx.open(s)) break;
        for (const batch of batches) {
          const last = batch.entries[batch.entries.length - 1].seq;
          const ok = s.res.write(`id: ${last}\nevent: batch\ndata: ${ctx.encode(batch)}\n\n`);
          s.cursor = last;
          // Back-pressure: a slow mirror slows its own stream, not the origin's memory.
          if (!ok) await new Promise((resolve) => s.res.once('drain', resolve));
        }
      }
    } while (s.again && ctx.open(s));
  } catch (error) {
    ctx.logger.warn({ err: error }, 'feed stream failed; closing it so the mirror reconnects');
    s.res.end();
  } finally {
    s.busy = false;
  }
}

export interface FeedHubDeps {
  reader: JournalReader;
  notifier: JournalNotifier;
  logger: Logger;
  registry: Registry;
  signingKey: KeyObject;
  /** The delegations and revocations installed on this site (app/feed/trust-statements.ts). */
  trustBundle: () => Promise<TrustBundle>;
  heartbeatMs: number;
  heartbeatValidMs: number;
  now?: () => number;
}

/**
 * Whether this site's key is covered, now and at the current epoch, by an
 * installed delegation (docs/trust.md): a gauge for alerts, and a warning
 * when that changes, since mirrors that pin root keys refuse an uncovered
 * key. Statements were checked when installed (app/feed/trust-statements.ts).
 */
function createCoverageWatch(deps: FeedHubDeps, keyId: string) {
  const now = deps.now ?? Date.now;
  let last: TrustBundle = { delegations: [], revocations: [] };
  let warned: string | undefined;
  const expiry = new Gauge({
    name: 'hyperstatic_feed_delegation_expiry_timestamp_seconds',
    help: "When the delegation covering this site's key at the current epoch expires (0: no such delegation)",
    registers: [deps.registry],
  });
  function update(bundle: TrustBundle, epoch: number): void {
    last = bundle;
    const revoked = new Set(bundle.revocations.map((r) => r.statement.key));
    const covering = bundle.delegations
      .map((d) => d.statement)
      .filter((d) => d.key === keyId && delegationState(d, epoch, now(), revoked).covers);
    const until = covering.reduce((max, d) => Math.max(max, d.expires), 0);
    expiry.set(until / 1000);
    const state = revoked.has(keyId) ? 'revoked' : until > 0 ? 'covered' : 'uncovered';
    if (state === warned || (state === 'covered' && warned === undefined)) return;
    warned = state;
    if (state === 'covered') deps.logger.info({ key: keyId, epoch }, "this site's feed key is delegated again");
    else if (bundle.delegations.length + bundle.revocations.length > 0)
      deps.logger.warn(
        { key: keyId, epoch, state },
        "this site's feed key is not delegated for the current epoch: mirrors that pin root keys refuse its feed (hyperstatic keys list)",
      );
  }
  return { update, epochChanged: (epoch: number) => update(last, epoch) };
}

/**
 * What the hub signs besides batches: a heartbeat for the current head and
 * epoch, and the trust statements as an event (re-read at every heartbeat,
 * so a new revocation goes out within seconds).
 */
function createSignedState(deps: FeedHubDeps, now: () => number) {
  const signer = siteSigner(deps.signingKey);
  let serverEpoch = 0;
  let trustJson = '';
  const heartbeatGauge = new Gauge({
    name: 'hyperstatic_feed_heartbeat_timestamp_seconds',
    help: 'When the feed last signed a heartbeat',
    registers: [deps.registry],
  });
  const coverage = createCoverageWatch(deps, signer.keyId);
  return {
    epoch: () => serverEpoch,
    async heartbeat(): Promise<Heartbeat> {
      const { epoch, head } = await deps.reader.head();
      if (epoch !== serverEpoch) coverage.epochChanged(epoch);
      serverEpoch = epoch;
      const time = now();
      heartbeatGauge.set(time / 1000);
      return signHeartbeat({ epoch, head, time, validUntil: time + deps.heartbeatValidMs }, signer);
    },
    async trustEvent(): Promise<{ event: string; changed: boolean }> {
      const bundle = await deps.trustBundle();
      const json = JSON.stringify(bundle);
      const changed = json !== trustJson;
      trustJson = json;
      coverage.update(bundle, serverEpoch);
      return { event: `event: trust\ndata: ${json}\n\n`, changed };
    },
  };
}

export function createFeedHub(deps: FeedHubDeps): FeedHub {
  const { reader, notifier, logger } = deps;
  const now = deps.now ?? Date.now;
  const signed = createSignedState(deps, now);
  const encode = signedBatchCache(deps.signingKey, () => signed.epoch());
  const subscribers = new Set<Subscriber>();
  const pump = (s: Subscriber) => streamBatches(s, { reader, logger, encode, open: (x) => subscribers.has(x) });
  const connected = new Gauge({
    name: 'hyperstatic_feed_subscribers',
    help: 'Open change-feed streams',
    registers: [deps.registry],
  });
  const headGauge = new Gauge({
    name: 'hyperstatic_journal_head',
    help: 'Newest journal sequence number',
    registers: [deps.registry],
  });

  let knownHead = 0;
  const unsubscribe = notifier.subscribe((head) => announce(head));
  const recheck = setInterval(() => {
    if (subscribers.size === 0) return;
    reader.head().then(
      (h) => announce(h.head),
      (error: unknown) => logger.warn({ err: error }, 'feed re-check failed'),
    );
  }, RECHECK_MS);
  /** Also with no subscriber: the heartbeat and delegation gauges stay true for alerts. */
  async function beat(): Promise<void> {
    const trust = await signed.trustEvent();
    const heartbeat = await signed.heartbeat();
    if (heartbeat.head > knownHead) knownHead = heartbeat.head;
    const event = `event: heartbeat\ndata: ${JSON.stringify(heartbeat)}\n\n`;
    for (const s of subscribers) {
      // A mirror that stopped reading is not buffered heartbeats without bound; it reconnects and gets a fresh hello.
      if (s.res.writableLength > MAX_BUFFERED_BYTES) {
        s.res.destroy();
        continue;
      }
      if (trust.changed) s.res.write(trust.event);
      s.res.write(event);
    }
  }
  const beating = setInterval(() => {
    beat().catch((error: unknown) => logger.warn({ err: error }, 'feed heartbeat failed'));
  }, deps.heartbeatMs);

  function announce(head: number): void {
    if (head > knownHead) knownHead = head;
    headGauge.set(knownHead);
    for (const s of subscribers) if (s.cursor < knownHead) void pump(s);
  }

  return {
    async handle(req, res) {
      const cursor = cursorOf(req);
      const trust = await signed.trustEvent();
      const hello = await signed.heartbeat();
      if (hello.head > knownHead) knownHead = hello.head;
      openEventStream(res);
      res.write(trust.event);
      res.write(
        `event: hello\ndata: ${JSON.stringify({ epoch: hello.epoch, head: hello.head, heartbeat: hello })}\n\n`,
      );
      const s: Subscriber = { cursor, res, busy: false, again: false };
      subscribers.add(s);
      connected.set(subscribers.size);
      res.on('close', () => {
        subscribers.delete(s);
        connected.set(subscribers.size);
      });
      void pump(s);
    },
    close() {
      unsubscribe();
      clearInterval(recheck);
      clearInterval(beating);
      for (const s of subscribers) s.res.end();
      subscribers.clear();
    },
  };
}
