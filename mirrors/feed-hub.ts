// The mirror's own change feed: the same wire format as the origin's
// (common/feed-format.ts), served from the journal of batches this mirror
// has applied. Cache proxies follow it to evict a path only once the mirror
// they read from can serve the new version; peer mirrors can follow it too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FeedBatch } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { Heartbeat, TrustBundle } from '../common/trust/statements';
import type { TrustState } from '../common/trust/trust-state';
import type { MirrorStore } from './mirror-store';

export interface FeedHub {
  /** Answers `GET /feed` with an event stream starting after `after`. */
  serve(req: IncomingMessage, res: ServerResponse, after: number): void;
  /** Pushes a just-applied batch to every client that has caught up. */
  publish(batch: FeedBatch): void;
  /** Relays the origin's newest signed heartbeat to every client. */
  publishHeartbeat(heartbeat: Heartbeat): void;
  /** Relays the trust statements this mirror holds (after it learned a new one). */
  publishTrust(bundle: TrustBundle): void;
  clients(): number;
  close(): void;
}

interface Client {
  res: ServerResponse;
  /** Last seq written to this client. */
  sent: number;
  /** False while the client is still being replayed the journal. */
  live: boolean;
  /** Epoch of the last hello written to this client. */
  epoch: number;
}

/** Batches read from the journal per replay step. */
const REPLAY_PAGE = 16;

export function formatSseEvent(event: string, data: unknown, id?: number): string {
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

function lastSeq(batch: FeedBatch): number {
  return batch.entries[batch.entries.length - 1].seq;
}

/**
 * The hello this mirror sends: its own head (for its followers' lag display)
 * and the newest heartbeat it holds, which proves the epoch (docs/trust.md).
 */
function hello(
  store: MirrorStore,
  trust: TrustState,
  head: number,
): { epoch: number; head: number; heartbeat?: Heartbeat } {
  const heartbeat = trust.latestHeartbeat();
  const epoch = Math.max(store.state().epoch, heartbeat?.epoch ?? 0);
  return heartbeat ? { epoch, head, heartbeat } : { epoch, head };
}

/** Writes one batch to one client; false when the socket's buffer is full (wait for 'drain'). */
function write(client: Client, batch: FeedBatch, store: MirrorStore, trust: TrustState): boolean {
  // This mirror follows the origin into a new epoch (a promotion, or its first
  // batch): say so before relaying it, since followers refuse a batch whose
  // epoch is beyond their server's hello.
  if (batch.epoch > client.epoch) {
    client.epoch = batch.epoch;
    client.res.write(formatSseEvent('hello', hello(store, trust, Math.max(store.state().cursor, lastSeq(batch)))));
  }
  client.sent = lastSeq(batch);
  return client.res.write(formatSseEvent('batch', batch, client.sent));
}

/** Replays the journal to a new client at the pace it reads, then marks it live. */
async function catchUp(client: Client, store: MirrorStore, trust: TrustState, closed: () => boolean): Promise<void> {
  for (;;) {
    if (closed() || client.res.destroyed) return;
    // Reading the journal is synchronous, so no batch can be applied between
    // finding nothing more to replay and switching the client to live.
    const batches = store.batchesAfter(client.sent, REPLAY_PAGE);
    if (batches.length === 0) {
      client.live = true;
      return;
    }
    for (const batch of batches) {
      if (!write(client, batch, store, trust))
        await new Promise<void>((resolve) => {
          client.res.once('drain', resolve);
          client.res.once('close', resolve);
        });
      if (client.res.destroyed) return;
    }
    // Replaying a long journal must not starve page requests: yield between pages.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export function createFeedHub(options: {
  store: MirrorStore;
  trust: TrustState;
  logger: Logger;
  pingMs?: number;
  maxBufferedBytes?: number;
}): FeedHub {
  const { store, trust, logger } = options;
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const clients = new Set<Client>();
  let closed = false;
  // A comment line keeps idle connections (and the proxies in between) from timing out.
  const ping = setInterval(() => {
    for (const c of clients) c.res.write(': ping\n\n');
  }, options.pingMs ?? 15_000);
  ping.unref();

  return {
    serve(req, res, after) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // Pushes are small and latency is the point: do not let Nagle hold them back.
      res.socket?.setNoDelay(true);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const greeting = hello(store, trust, store.state().cursor);
      res.write(formatSseEvent('trust', trust.bundle()));
      res.write(formatSseEvent('hello', greeting));
      const client: Client = { res, sent: after, live: false, epoch: greeting.epoch };
      clients.add(client);
      req.on('close', () => clients.delete(client));
      catchUp(client, store, trust, () => closed).catch((error: unknown) => {
        logger.warn({ err: error }, 'feed replay failed; dropping the client');
        res.destroy();
      });
    },
    publish(batch) {
      for (const client of clients) {
        if (!client.live || lastSeq(batch) <= client.sent) continue;
        // A client that stopped reading is cut off rather than buffered without bound; it resumes from its cursor.
        if (client.res.writableLength > maxBuffered) {
          logger.warn({ buffered: client.res.writableLength }, 'feed client is not reading; disconnecting it');
          client.res.destroy();
          clients.delete(client);
          continue;
        }
        write(client, batch, store, trust);
      }
    },
    // A client that stopped reading gets no more of these either (its batches already stop, see publish).
    publishHeartbeat(heartbeat) {
      const event = formatSseEvent('heartbeat', heartbeat);
      for (const client of clients) if (client.res.writableLength <= maxBuffered) client.res.write(event);
    },
    publishTrust(bundle) {
      const event = formatSseEvent('trust', bundle);
      for (const client of clients) if (client.res.writableLength <= maxBuffered) client.res.write(event);
    },
    clients: () => clients.size,
    close() {
      closed = true;
      clearInterval(ping);
      for (const c of clients) c.res.end();
      clients.clear();
    },
  };
}
