// The change feed's wire format, shared by the origin (writer), mirrors
// (readers and relays) and cache proxies (readers).
//
// Transport: Server-Sent Events at `GET /feed?after=SEQ` (or a
// `Last-Event-ID: SEQ` header on reconnect). Events:
//   event: hello   data: {"epoch":E,"head":SEQ}            sent once on connect
//   event: batch   id: LAST_SEQ_OF_BATCH   data: FeedBatch  one per save
//   : ping                                                  comment, every 15 s
// A batch is delivered whole or not at all; within a batch, content pages and
// media come before the indexes that link to them.
import { SHA256_HEX } from './hash';

export const PAGE_KINDS = ['article', 'index', 'feed', 'media'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

/** put: serve the blob with 200; gone: serve the blob (a tombstone) with 410; delete: forget the path (404). */
export const OPS = ['put', 'gone', 'delete'] as const;
export type Op = (typeof OPS)[number];

export interface JournalEntry {
  seq: number;
  epoch: number;
  batch: number;
  path: string;
  op: Op;
  /** sha256 of the body; null for op=delete. */
  sha256: string | null;
  size: number;
  contentType: string;
  /** When the page's content last changed, ms since the epoch (becomes Last-Modified). */
  lastModified: number;
  kind: PageKind;
}

export interface FeedBatch {
  epoch: number;
  batch: number;
  entries: JournalEntry[];
}

export interface FeedHello {
  epoch: number;
  head: number;
}

export const FEED_PATH = '/feed';
export const BLOB_PATH = '/blobs/';

/** Public paths: absolute, no dot segments, no empty segments, no backslashes or control characters. */
export function isSafePublicPath(p: string): boolean {
  if (!p.startsWith('/') || p.length > 1024) return false;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\\\0-\x1f\x7f?#%]/.test(p)) return false;
  return p.split('/').slice(1).every((seg, i, all) => (seg === '' ? i === all.length - 1 : seg !== '.' && seg !== '..'));
}

/** Throws unless `value` is a well-formed batch; a mirror never trusts the wire. */
export function parseFeedBatch(value: unknown): FeedBatch {
  const b = value as FeedBatch;
  if (!b || typeof b !== 'object' || !Number.isSafeInteger(b.epoch) || !Number.isSafeInteger(b.batch) || !Array.isArray(b.entries) || b.entries.length === 0) {
    throw new Error('malformed batch');
  }
  let previous = -Infinity;
  for (const e of b.entries) {
    if (!Number.isSafeInteger(e.seq) || e.seq <= previous) throw new Error('entries out of order');
    previous = e.seq;
    if (e.epoch !== b.epoch || e.batch !== b.batch) throw new Error(`entry ${e.seq} belongs to another batch or epoch`);
    if (!isSafePublicPath(e.path)) throw new Error(`entry ${e.seq} has an unsafe path`);
    if (!OPS.includes(e.op) || !PAGE_KINDS.includes(e.kind)) throw new Error(`entry ${e.seq} has an unknown op or kind`);
    if (e.op === 'delete' ? e.sha256 !== null : typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256)) {
      throw new Error(`entry ${e.seq} has a bad sha256`);
    }
    if (!Number.isSafeInteger(e.size) || e.size < 0 || !Number.isSafeInteger(e.lastModified) || typeof e.contentType !== 'string') {
      throw new Error(`entry ${e.seq} has bad metadata`);
    }
  }
  return b;
}
