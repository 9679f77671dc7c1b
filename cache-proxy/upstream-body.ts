// Reading an upstream response's body for a fill, and refusing one that is
// broken: malformed (more bytes than its Content-Length, a bad chunk),
// truncated (the connection closes before the declared length), over-long
// (above PROXY_MAX_RESPONSE_BYTES) or dripping (not whole within
// PROXY_FILL_TIMEOUT_MS). Each ends in a settled outcome, never a promise
// that waits for an 'end' that will not come: once a response stream errors
// or closes early, node emits nothing more, so a fill that attached its
// listeners a tick too late waited for ever (issue 19: one malformed answer
// kept a URL at 504 until restart).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { UpstreamResponseError, type BrokenResponse } from './errors';

export interface BodyLimits {
  /** Bodies up to this size are read whole (to be stored); larger ones are handed back as a stream. */
  readonly maxEntryBytes: number;
  /** No response body may be longer than this, stored or streamed. */
  readonly maxResponseBytes: number;
  /** A body read whole must be complete within this time, however steadily it drips. */
  readonly fillTimeoutMs: number;
}

export type BodyRead =
  | { readonly kind: 'complete'; readonly body: Buffer }
  | {
      readonly kind: 'stream';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly prefix: Buffer[];
      readonly res: IncomingMessage;
    }
  | { readonly kind: 'failed'; readonly error: UpstreamResponseError };

/** The declared body length (RFC 9112 §6.3), or undefined without a valid Content-Length. */
function declaredLength(res: IncomingMessage): number | undefined {
  const raw = res.headers['content-length'];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** Why a response stream failed, in the words an operator reads in the log. */
function classify(res: IncomingMessage, error: Error | undefined, received: number): BrokenResponse {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code.startsWith('HPE_')) return 'malformed';
  if (error instanceof UpstreamResponseError) return error.reason;
  if (code === 'HS_PROXY_UPSTREAM_TIMEOUT') return 'stalled';
  const declared = declaredLength(res);
  return declared !== undefined && received > declared ? 'malformed' : 'truncated';
}

/**
 * The whole body of an upstream response, or, once it proves larger than an
 * entry may be (or is an event stream), what was read so far and the rest of
 * the stream for the one reader who asked, still held to maxResponseBytes.
 */
export function readBody(
  res: IncomingMessage,
  upstream: string,
  limits: BodyLimits,
  /** Told when a body already handed back as a stream is cut for growing past the cap. */
  onStreamCut: (error: UpstreamResponseError) => void = () => undefined,
): Promise<BodyRead> {
  const status = res.statusCode ?? 502;
  const declared = declaredLength(res);
  const fail = (reason: BrokenResponse, detail: string): BodyRead => {
    res.destroy();
    return { kind: 'failed', error: new UpstreamResponseError(upstream, reason, detail) };
  };
  if (declared !== undefined && declared > limits.maxResponseBytes)
    return Promise.resolve(fail('too-large', `declares ${declared} bytes, above ${limits.maxResponseBytes}`));
  if (res.errored || (res.destroyed && !res.complete))
    return Promise.resolve(fail(classify(res, res.errored ?? undefined, 0), describe(res.errored)));
  const eventStream = /^text\/event-stream/i.test(String(res.headers['content-type'] ?? ''));
  if ((declared !== undefined && declared > limits.maxEntryBytes) || eventStream) {
    capStream(res, upstream, limits.maxResponseBytes, 0, onStreamCut);
    return Promise.resolve({ kind: 'stream', status, headers: res.headers, prefix: [], res });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (outcome: BodyRead): void => {
      clearTimeout(deadline);
      res.off('data', onData);
      res.off('end', onEnd);
      res.off('error', onError);
      res.off('close', onClose);
      resolve(outcome);
    };
    const deadline = setTimeout(
      () => settle(fail('stalled', `body not complete within ${limits.fillTimeoutMs} ms`)),
      limits.fillTimeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > limits.maxEntryBytes) {
        res.pause();
        capStream(res, upstream, limits.maxResponseBytes, total, onStreamCut);
        settle({ kind: 'stream', status, headers: res.headers, prefix: chunks, res });
      }
    };
    const onEnd = (): void => settle({ kind: 'complete', body: Buffer.concat(chunks, total) });
    const onError = (error: Error): void => settle(fail(classify(res, error, total), describe(error)));
    // 'close' without 'end' and without an error: the stream was cut some other way; never wait past it.
    const onClose = (): void => {
      if (!res.complete) settle(fail(classify(res, undefined, total), `closed after ${total} bytes`));
    };
    res.on('data', onData);
    res.once('end', onEnd);
    res.once('error', onError);
    res.once('close', onClose);
  });
}

/** Cuts a streamed body the moment it grows past the cap (the reader's connection is cut with it). */
function capStream(
  res: IncomingMessage,
  upstream: string,
  maxBytes: number,
  already: number,
  onCut: (error: UpstreamResponseError) => void,
): void {
  let total = already;
  const count = (chunk: Buffer): void => {
    total += chunk.length;
    if (total > maxBytes) {
      res.off('data', count);
      const error = new UpstreamResponseError(upstream, 'too-large', `body passed ${maxBytes} bytes`);
      res.destroy(error);
      onCut(error);
    }
  };
  // Listening does not start the flow: the stream stays paused until its reader pipes it.
  if (res.readableFlowing === null) res.pause();
  res.on('data', count);
}

function describe(error: Error | null | undefined): string {
  if (!error) return 'response stream closed early';
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}
