// Upstream failures, each with a stable code and the status a reader sees
// when no cached copy can stand in (RFC 9110 §15.6.3 502, §15.6.5 504).
import { HyperstaticError } from '../common/errors';

export class UpstreamError extends HyperstaticError {
  constructor(
    code: string,
    status: 502 | 504,
    readonly upstream: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, status, message, options);
  }
}

export class UpstreamTimeoutError extends UpstreamError {
  constructor(upstream: string, timeoutMs: number) {
    super('HS_PROXY_UPSTREAM_TIMEOUT', 504, upstream, `${upstream} did not answer within ${timeoutMs} ms`);
  }
}

export class UpstreamConnectionError extends UpstreamError {
  constructor(upstream: string, cause: unknown) {
    super(
      'HS_PROXY_UPSTREAM_UNREACHABLE',
      502,
      upstream,
      `${upstream} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export class UpstreamServerError extends UpstreamError {
  constructor(
    upstream: string,
    readonly upstreamStatus: number,
  ) {
    super('HS_PROXY_UPSTREAM_5XX', 502, upstream, `${upstream} answered ${upstreamStatus}`);
  }
}

/**
 * Every upstream that answered is behind the journal position a fill needs
 * (catch-up.ts), and none caught up within the wait: its answer would be
 * the page from before the change, so none is served or stored.
 */
export class UpstreamBehindError extends UpstreamError {
  constructor(upstreams: readonly { name: string; position: number }[], wanted: number, waitedMs: number) {
    const seen = upstreams.map((u) => `${u.name} at ${u.position}`).join(', ');
    super(
      'HS_PROXY_UPSTREAM_BEHIND',
      504,
      upstreams.map((u) => u.name).join(','),
      `no upstream reached journal position ${wanted} within ${waitedMs} ms (${seen})`,
    );
  }
}

/** How an upstream answer can be broken after its head arrived (RFC 9112 §6.3: the message's length is its framing). */
export type BrokenResponse = 'malformed' | 'truncated' | 'too-large' | 'stalled';

/** The upstream answered, but its body cannot be used: the fill fails and nothing is stored. */
export class UpstreamResponseError extends UpstreamError {
  constructor(
    upstream: string,
    readonly reason: BrokenResponse,
    detail: string,
  ) {
    super('HS_PROXY_UPSTREAM_BAD_RESPONSE', 502, upstream, `${upstream} sent a ${reason} response: ${detail}`);
  }
}

/** Every upstream failed; status is 504 when the last failure was a timeout. */
export class NoUpstreamError extends HyperstaticError {
  constructor(readonly failures: UpstreamError[]) {
    const last = failures.at(-1);
    super(
      'HS_PROXY_NO_UPSTREAM',
      last?.status ?? 502,
      failures.length === 0 ? 'No upstream is configured.' : failures.map((f) => f.message).join('; '),
    );
  }
}

/** A coalesced request waited too long for the fetch it joined. */
export class CoalesceTimeoutError extends HyperstaticError {
  constructor(waitedMs: number) {
    super('HS_PROXY_COALESCE_TIMEOUT', 504, `The shared upstream fetch did not finish within ${waitedMs} ms.`);
  }
}
