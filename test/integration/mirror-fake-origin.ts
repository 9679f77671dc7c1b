// A stand-in for the network peer a mirror follows: it speaks the change-feed
// wire format (common/feed-format.ts) and serves blobs by hash, and records
// what reached it so tests can assert on the traffic. Real sockets, port 0.
import { signHeartbeat, siteSigner, type Heartbeat } from '../../common/trust/statements';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import {
  publicKeyBase64,
  signBatch,
  type FeedBatch,
  type JournalEntry,
  type Op,
  type PageKind,
} from '../../common/feed-format';
import { sha256Hex } from '../../common/hash';

export interface PageSpec {
  path: string;
  body?: string | Buffer;
  kind?: PageKind;
  op?: Op;
  contentType?: string;
  lastModified?: number;
}

export interface BuiltBatch {
  batch: FeedBatch;
  blobs: Map<string, Buffer>;
}

/** The fake origin's feed signing key; test mirrors pin TEST_FEED_PUBLIC_KEY. */
export const TEST_FEED_KEYS = generateKeyPairSync('ed25519');
export const TEST_FEED_PUBLIC_KEY = publicKeyBase64(TEST_FEED_KEYS.publicKey);

/** A hello as the real origin sends it: its epoch and head, proven by a heartbeat signed with TEST_FEED_KEYS. */
export function signedHello(
  epoch: number,
  head: number,
  validMs = 60_000,
): { epoch: number; head: number; heartbeat: Heartbeat } {
  const time = Date.now();
  const heartbeat = signHeartbeat(
    { epoch, head, time, validUntil: time + validMs },
    siteSigner(TEST_FEED_KEYS.privateKey),
  );
  return { epoch, head, heartbeat };
}

/** Builds a well-formed batch whose seqs start at `firstSeq`, signed with TEST_FEED_KEYS. */
export function makeBatch(batchNo: number, firstSeq: number, pages: PageSpec[], epoch = 1): BuiltBatch {
  const blobs = new Map<string, Buffer>();
  const entries: JournalEntry[] = pages.map((p, i) => {
    const op = p.op ?? 'put';
    const body = op === 'delete' ? undefined : Buffer.from(p.body ?? `<html>${p.path}</html>`);
    const sha256 = body ? sha256Hex(body) : null;
    if (body && sha256) blobs.set(sha256, body);
    return {
      seq: firstSeq + i,
      epoch,
      batch: batchNo,
      path: p.path,
      op,
      sha256,
      size: body?.length ?? 0,
      contentType: p.contentType ?? 'text/html; charset=utf-8',
      lastModified: p.lastModified ?? Date.UTC(2025, 0, 1, 12, 0, 0),
      kind: p.kind ?? 'article',
    };
  });
  return { batch: signBatch({ epoch, batch: batchNo, entries }, TEST_FEED_KEYS.privateKey), blobs };
}

function lastSeq(batch: FeedBatch): number {
  return batch.entries[batch.entries.length - 1].seq;
}

export interface FakeOrigin {
  readonly url: string;
  epoch: number;
  /** When false, `GET /feed` answers 503 (the origin is unreachable for the feed). */
  feedOnline: boolean;
  /** Bytes served per hash; tests may plant wrong bytes or delete entries. */
  readonly blobs: Map<string, Buffer>;
  /** `after` of every feed request, in order. */
  readonly feedRequests: number[];
  /** Batch numbers written on each feed connection, in order. */
  readonly sentPerConnection: number[][];
  /** Hash of every blob request, in order. */
  readonly blobRequests: string[];
  /** Feed connections open now. */
  readonly openFeeds: number;
  /** How many times `GET /manifest` was asked for (it answers 404: a mirror then replays the feed). */
  readonly manifestRequests: number;
  /**
   * The trust statements sent first on every feed connection (`event: trust`); undefined sends none, as
   * an origin predating docs/trust.md. Setting it also pushes the new bundle to every connected client.
   */
  trust: unknown;
  /** When set, the hello every connection gets (e.g. one fixed heartbeat); default a fresh signedHello(). */
  hello: ((epoch: number, head: number) => unknown) | undefined;
  /** When false, the periodic `event: heartbeat` (option heartbeatMs) pauses: updates are withheld. */
  heartbeats: boolean;
  /** When true, blob requests are accepted but never answered (a stalled link). */
  stallBlobs: boolean;
  /** Delay before answering each blob request, in ms. */
  blobDelayMs: number;
  /** Most blob requests in progress at once. */
  readonly maxConcurrentBlobRequests: number;
  /** Appends a batch to the journal, stores its blobs (unless told not to) and pushes it to connected clients. */
  publish(built: BuiltBatch, options?: { withBlobs?: boolean }): void;
  /** Cuts every open feed connection (like a network partition). */
  dropFeedConnections(): void;
  close(): Promise<void>;
}

export async function startFakeOrigin(
  options: {
    epoch?: number;
    trust?: unknown;
    /** Sends a freshly signed `event: heartbeat` this often (0: never, the default). */
    heartbeatMs?: number;
    /** How long each heartbeat (and each hello's) vouches for, in ms. */
    heartbeatValidMs?: number;
  } = {},
): Promise<FakeOrigin> {
  const journal: FeedBatch[] = [];
  const clients = new Set<{ res: ServerResponse; sent: number[] }>();
  const blobs = new Map<string, Buffer>();
  const feedRequests: number[] = [];
  const sentPerConnection: number[][] = [];
  const blobRequests: string[] = [];
  const origin = {
    epoch: options.epoch ?? 1,
    feedOnline: true,
    stallBlobs: false,
    blobDelayMs: 0,
    concurrentBlobs: 0,
    maxConcurrentBlobs: 0,
    manifestRequests: 0,
    trust: options.trust,
    hello: undefined as FakeOrigin['hello'],
    heartbeats: true,
  };
  const validMs = options.heartbeatValidMs ?? 60_000;
  const head = () => (journal.length ? lastSeq(journal[journal.length - 1]) : 0);
  const heartbeatTimer =
    options.heartbeatMs && options.heartbeatMs > 0
      ? setInterval(() => {
          if (!origin.heartbeats) return;
          const { heartbeat } = signedHello(origin.epoch, head(), validMs);
          for (const client of clients) client.res.write(`event: heartbeat\ndata: ${JSON.stringify(heartbeat)}\n\n`);
        }, options.heartbeatMs)
      : undefined;

  const write = (client: { res: ServerResponse; sent: number[] }, batch: FeedBatch) => {
    client.sent.push(batch.batch);
    client.res.write(`event: batch\nid: ${lastSeq(batch)}\ndata: ${JSON.stringify(batch)}\n\n`);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin.invalid');
    if (url.pathname === '/feed') {
      const after = Number(url.searchParams.get('after') ?? '0');
      feedRequests.push(after);
      if (!origin.feedOnline) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      if (origin.trust !== undefined) res.write(`event: trust\ndata: ${JSON.stringify(origin.trust)}\n\n`);
      const hello = origin.hello ? origin.hello(origin.epoch, head()) : signedHello(origin.epoch, head(), validMs);
      res.write(`event: hello\ndata: ${JSON.stringify(hello)}\n\n`);
      res.write(': ping\n\n');
      const client = { res, sent: [] as number[] };
      sentPerConnection.push(client.sent);
      for (const batch of journal) if (lastSeq(batch) > after) write(client, batch);
      clients.add(client);
      req.on('close', () => clients.delete(client));
      return;
    }
    if (url.pathname === '/manifest') origin.manifestRequests += 1;
    if (url.pathname.startsWith('/blobs/')) {
      const sha = url.pathname.slice('/blobs/'.length);
      blobRequests.push(sha);
      if (origin.stallBlobs) return;
      origin.concurrentBlobs += 1;
      origin.maxConcurrentBlobs = Math.max(origin.maxConcurrentBlobs, origin.concurrentBlobs);
      setTimeout(() => {
        origin.concurrentBlobs -= 1;
        const body = blobs.get(sha);
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      }, origin.blobDelayMs);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get epoch() {
      return origin.epoch;
    },
    set epoch(value: number) {
      origin.epoch = value;
    },
    get feedOnline() {
      return origin.feedOnline;
    },
    set feedOnline(value: boolean) {
      origin.feedOnline = value;
    },
    get stallBlobs() {
      return origin.stallBlobs;
    },
    set stallBlobs(value: boolean) {
      origin.stallBlobs = value;
    },
    get blobDelayMs() {
      return origin.blobDelayMs;
    },
    set blobDelayMs(value: number) {
      origin.blobDelayMs = value;
    },
    get maxConcurrentBlobRequests() {
      return origin.maxConcurrentBlobs;
    },
    get openFeeds() {
      return clients.size;
    },
    get manifestRequests() {
      return origin.manifestRequests;
    },
    get trust() {
      return origin.trust;
    },
    set trust(value: unknown) {
      origin.trust = value;
      for (const client of clients) client.res.write(`event: trust\ndata: ${JSON.stringify(value)}\n\n`);
    },
    get hello() {
      return origin.hello;
    },
    set hello(value: FakeOrigin['hello']) {
      origin.hello = value;
    },
    get heartbeats() {
      return origin.heartbeats;
    },
    set heartbeats(value: boolean) {
      origin.heartbeats = value;
    },
    blobs,
    feedRequests,
    sentPerConnection,
    blobRequests,
    publish(built, publishOptions = {}) {
      if (publishOptions.withBlobs !== false) for (const [sha, body] of built.blobs) blobs.set(sha, body);
      journal.push(built.batch);
      for (const client of clients) write(client, built.batch);
    },
    dropFeedConnections() {
      for (const client of clients) client.res.destroy();
      clients.clear();
    },
    async close() {
      clearInterval(heartbeatTimer);
      for (const client of clients) client.res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
