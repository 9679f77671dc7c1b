// Fetches missing blobs by hash. Blobs are content-addressed, so any origin
// or peer mirror that holds one is a valid source (DESIGN §4); the bytes are
// verified against the name, and a bad or failed transfer moves on to the
// next source. An interrupted transfer keeps its bytes on disk and the next
// attempt, at any source, asks only for the rest (HTTP Range). Concurrency is
// bounded so a large batch cannot open hundreds of sockets or file handles at
// once.
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { BLOB_PATH } from '../common/feed-format';
import type { Logger } from '../common/logger';
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

/** A reused keep-alive socket that the server had already closed. */
class StaleSocketError extends Error {}

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

  /**
   * One attempt at one source. Resumes an interrupted download with
   * `Range: bytes=N-` (RFC 9110 §14.2); a source that ignores the Range and
   * answers 200 is read from byte 0 instead. The store checks the hash of
   * the whole file once the body ends.
   */
  async function fromSource(source: string, sha256: string, size: number): Promise<void> {
    try {
      await attempt(source, sha256, size);
    } catch (error) {
      // Node's advice (ClientRequest.reusedSocket): a keep-alive socket the server closed just as it
      // was reused fails before any answer; that says nothing about the source, so ask once more.
      if (!(error instanceof StaleSocketError)) throw error;
      await attempt(source, sha256, size);
    }
  }

  async function attempt(source: string, sha256: string, size: number): Promise<void> {
    let offset = store.partialBytes(sha256);
    if (offset >= size && offset > 0) {
      // Already as long as announced but never verified: something went wrong at the very end.
      store.dropPartial(sha256);
      offset = 0;
    }
    const url = new URL(`${source}${BLOB_PATH}${sha256}`);
    const client = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? agents.https : agents.http;
    const headers: http.OutgoingHttpHeaders = offset > 0 ? { range: `bytes=${offset}-` } : {};
    let req: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    let abortReason: Error | undefined;
    let answered = false;
    const fail = (error: Error) => {
      abortReason ??= error;
      req?.destroy(error);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new Error(`no data for ${timeoutMs} ms`)), timeoutMs);
    };
    const onShutdown = () => fail(new Error('blob fetcher closed'));
    shutdown.signal.addEventListener('abort', onShutdown);
    arm();
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        req = client.get(url, { agent, headers }, resolve);
        req.on('error', reject);
      });
      answered = true;
      if (res.statusCode === 206 && offset > 0) {
        const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
        if (!range || Number(range[1]) !== offset) {
          res.resume();
          throw new Error(
            `answered a Range for byte ${offset} with Content-Range ${res.headers['content-range'] ?? '(none)'}`,
          );
        }
        logger.info({ source, sha256, offset, size }, 'resuming an interrupted blob download');
      } else if (res.statusCode === 200) {
        offset = 0;
      } else {
        res.resume();
        // 416: our partial is no prefix this source can extend; start over on the next attempt.
        if (res.statusCode === 416) store.dropPartial(sha256);
        throw new Error(`answered ${res.statusCode}`);
      }
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          arm();
          yield chunk;
        }
        // A body cut short by a closed connection ends without an error on some paths: check the length.
        if (!res.complete) throw new Error('connection closed before the body was complete');
      }
      await store.receiveBlob(sha256, chunks(), offset, size);
    } catch (error) {
      // Never leave a half-read response on a pooled socket; surface why it was aborted (timeout, shutdown).
      const stale = !answered && req?.reusedSocket === true && (error as NodeJS.ErrnoException).code === 'ECONNRESET';
      req?.destroy();
      if (stale && !abortReason) throw new StaleSocketError((error as Error).message);
      throw abortReason ?? error;
    } finally {
      clearTimeout(timer);
      shutdown.signal.removeEventListener('abort', onShutdown);
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
        await withSlot(() => fromSource(source, sha256, size));
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
