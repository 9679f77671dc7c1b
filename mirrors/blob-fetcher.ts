// Fetches missing blobs by hash. Blobs are content-addressed, so any origin
// or peer mirror that holds one is a valid source (docs/design.md,
// "Replication and failover"); the bytes are verified against the name, and
// a bad or failed transfer moves on to the next source. An interrupted
// transfer keeps its bytes on disk and the next attempt, at any source, asks
// only for the rest (blob-transfer.ts). Concurrency is bounded so a large
// batch cannot open hundreds of sockets or file handles at once.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../common/logger';
import { transferBlob, type TransferContext } from './blob-transfer';
import { BlobUnavailableError } from './errors';
import type { MirrorStore } from './mirror-store';

export interface BlobFetcherOptions {
  store: MirrorStore;
  /** Base URLs tried in order for every blob: origins first, then peers. */
  sources: () => string[];
  logger: Logger;
  concurrency?: number;
  /** A transfer with no data for this long is abandoned. */
  timeoutMs?: number;
  /** Called once per failed attempt (one source, one blob), for metrics. */
  onAttemptFailed?: (source: string, sha256: string, error: Error) => void;
}

export interface BlobFetcher {
  /** Resolves once every listed blob is on disk and verified; rejects with BlobUnavailableError otherwise. */
  fetchAll(blobs: { sha256: string; size: number }[], preferred?: string): Promise<void>;
  /** Aborts transfers in flight; later calls reject. */
  close(): void;
}

export function createBlobFetcher(options: BlobFetcherOptions): BlobFetcher {
  const { store, logger } = options;
  const concurrency = options.concurrency ?? 8;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const shutdown = new AbortController();
  // One listener per transfer in flight (MIRROR_FETCH_CONCURRENCY may exceed the default warning threshold of 10).
  setMaxListeners(0, shutdown.signal);
  // node:http rather than fetch: a bootstrap makes one request per page, and fetch's WHATWG
  // streams and objects per request kept a 100,000-page bootstrap's heap growing past 200 MB.
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency }),
    https: new https.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency }),
  };
  const transfer: TransferContext = { store, logger, agents, timeoutMs, shutdown: shutdown.signal };
  const inFlight = new Map<string, Promise<void>>();
  let active = 0;
  const waiting: (() => void)[] = [];

  async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await fn();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  }

  async function fetchOne(sha256: string, size: number, preferred: string | undefined): Promise<void> {
    if (store.hasBlob(sha256)) return;
    const all = options.sources();
    const sources = preferred && all.includes(preferred) ? [preferred, ...all.filter((s) => s !== preferred)] : all;
    const attempts: string[] = [];
    for (const source of sources) {
      if (shutdown.signal.aborted) break;
      try {
        await withSlot(() => transferBlob(source, sha256, size, transfer));
        return;
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        attempts.push(`${source}: ${err.message}`);
        logger.warn({ source, sha256, err: err.message }, 'blob fetch failed; trying the next source');
        options.onAttemptFailed?.(source, sha256, err);
      }
    }
    throw new BlobUnavailableError(sha256, shutdown.signal.aborted ? [...attempts, 'fetcher closed'] : attempts);
  }

  return {
    async fetchAll(blobs, preferred) {
      const jobs = blobs.map(({ sha256, size }) => {
        let job = inFlight.get(sha256);
        if (!job) {
          job = fetchOne(sha256, size, preferred).finally(() => inFlight.delete(sha256));
          inFlight.set(sha256, job);
        }
        return job;
      });
      // Wait for every job (so none is left writing after a rejection), then report the first failure.
      const results = await Promise.allSettled(jobs);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    close() {
      shutdown.abort();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
