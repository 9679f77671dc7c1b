// One transfer of one blob from one source (an origin or a peer mirror) into
// the store. Resumes an interrupted download with `Range: bytes=N-`
// (RFC 9110 §14.2); a source that ignores the Range and answers 200 is read
// from byte 0 instead. The store checks the hash of the whole file once the
// body ends.
import http from 'node:http';
import https from 'node:https';
import { BLOB_PATH } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { MirrorStore } from './mirror-store';

export interface TransferContext {
  store: MirrorStore;
  logger: Logger;
  agents: { http: http.Agent; https: https.Agent };
  /** A transfer with no data for this long is abandoned. */
  timeoutMs: number;
  /** Aborted when the fetcher closes. */
  shutdown: AbortSignal;
}

/** A reused keep-alive socket that the server had already closed. */
class StaleSocketError extends Error {}

/** Fetches `sha256` from `source` into the store, or throws why not. */
export async function transferBlob(source: string, sha256: string, size: number, ctx: TransferContext): Promise<void> {
  try {
    await attempt(source, sha256, size, ctx);
  } catch (error) {
    // Node's advice (ClientRequest.reusedSocket): a keep-alive socket the server closed just as it
    // was reused fails before any answer; that says nothing about the source, so ask once more.
    if (!(error instanceof StaleSocketError)) throw error;
    await attempt(source, sha256, size, ctx);
  }
}

async function attempt(source: string, sha256: string, size: number, ctx: TransferContext): Promise<void> {
  const { store, timeoutMs } = ctx;
  let offset = store.partialBytes(sha256);
  if (offset >= size && offset > 0) {
    // Already as long as announced but never verified: something went wrong at the very end.
    store.dropPartial(sha256);
    offset = 0;
  }
  const url = new URL(`${source}${BLOB_PATH}${sha256}`);
  const client = url.protocol === 'https:' ? https : http;
  const agent = url.protocol === 'https:' ? ctx.agents.https : ctx.agents.http;
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
  ctx.shutdown.addEventListener('abort', onShutdown);
  arm();
  try {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req = client.get(url, { agent, headers }, resolve);
      req.on('error', reject);
    });
    answered = true;
    offset = startOffset(res, offset, { source, sha256, size, ctx });
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
    ctx.shutdown.removeEventListener('abort', onShutdown);
  }
}

/** Where the answer's body starts in the blob: `offset` for a matching 206, 0 for a 200; anything else throws. */
function startOffset(
  res: http.IncomingMessage,
  offset: number,
  at: { source: string; sha256: string; size: number; ctx: TransferContext },
): number {
  if (res.statusCode === 206 && offset > 0) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (!range || Number(range[1]) !== offset) {
      res.resume();
      throw new Error(
        `answered a Range for byte ${offset} with Content-Range ${res.headers['content-range'] ?? '(none)'}`,
      );
    }
    at.ctx.logger.info(
      { source: at.source, sha256: at.sha256, offset, size: at.size },
      'resuming an interrupted blob download',
    );
    return offset;
  }
  if (res.statusCode === 200) return 0;
  res.resume();
  // 416: our partial is no prefix this source can extend; start over on the next attempt.
  if (res.statusCode === 416) at.ctx.store.dropPartial(at.sha256);
  throw new Error(`answered ${res.statusCode}`);
}
