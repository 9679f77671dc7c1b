// The origin's change feed: a long-lived Server-Sent Events stream per
// mirror, starting after the cursor it gives (common/feed-format.ts).
// Entries are pushed when the producer announces a new journal head; a slow
// re-check covers an announcement lost on the way.
import type { KeyObject } from 'node:crypto';
import type { Request, Response } from 'express';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { signBatch, type FeedBatch } from '../../common/feed-format';
import type { JournalNotifier } from '../../common/journal-notifier';
import type { Logger } from '../../common/logger';
import { BadRequestError } from '../errors';
import type { JournalReader } from './journal-reader';

const PING_MS = 15_000;
const RECHECK_MS = 5_000;

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
function signedBatchCache(signingKey: KeyObject): (batch: FeedBatch) => string {
  const signed = new Map<string, { unsigned: string; json: string }>();
  return (batch) => {
    // Keyed by epoch too: after a promotion a batch number may name different entries.
    const key = `${batch.epoch}:${batch.batch}`;
    // A takedown rewrites earlier entries and drops their inline bodies (producer/takedown.ts):
    // reuse a signature only for exactly the same batch, never serve the old one.
    const unsigned = JSON.stringify(batch);
    let cached = signed.get(key);
    if (cached?.unsigned !== unsigned) {
      cached = { unsigned, json: JSON.stringify(signBatch(batch, signingKey)) };
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

export function createFeedHub(deps: {
  reader: JournalReader;
  notifier: JournalNotifier;
  logger: Logger;
  registry: Registry;
  signingKey: KeyObject;
}): FeedHub {
  const { reader, notifier, logger } = deps;
  const encode = signedBatchCache(deps.signingKey);
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
  const ping = setInterval(() => {
    for (const s of subscribers) s.res.write(': ping\n\n');
  }, PING_MS);

  function announce(head: number): void {
    if (head > knownHead) knownHead = head;
    headGauge.set(knownHead);
    for (const s of subscribers) if (s.cursor < knownHead) void pump(s);
  }

  return {
    async handle(req, res) {
      const cursor = cursorOf(req);
      const { epoch, head } = await reader.head();
      if (head > knownHead) knownHead = head;
      openEventStream(res);
      res.write(`event: hello\ndata: ${JSON.stringify({ epoch, head })}\n\n`);
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
      clearInterval(ping);
      for (const s of subscribers) s.res.end();
      subscribers.clear();
    },
  };
}
