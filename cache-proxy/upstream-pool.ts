// The upstreams (mirrors or any HTTP origin), nearest first: every request
// has a timeout, failures fail over to the next upstream, and an upstream
// that keeps failing is marked down and probed until it answers again. A
// fill that must come from a given journal position (catch-up.ts) passes
// over mirrors whose answer says they are behind it, and waits a little for
// one to catch up.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { parsePosition, POSITION_HEADER } from '../common/feed-format';
import type { Logger } from '../common/logger';
import type { Information } from './interim';
import {
  NoUpstreamError,
  UpstreamConnectionError,
  UpstreamBehindError,
  UpstreamError,
  UpstreamServerError,
  UpstreamTimeoutError,
} from './errors';

export interface Upstream {
  readonly name: string;
  readonly url: URL;
  /** Whether requests go here first. */
  up: boolean;
  consecutiveFailures: number;
  /** The highest journal position its answers have named (Hyperstatic-Position); 0 before any. */
  position: number;
}

export interface UpstreamResponse {
  readonly upstream: Upstream;
  readonly res: IncomingMessage;
  /** From behind the request's minPosition, given after the catch-up wait (newestIfBehind): not to be stored. */
  readonly behind?: boolean;
}

export interface UpstreamRequest {
  readonly method: string;
  /** Normalized path + query. */
  readonly url: string;
  readonly headers: OutgoingHttpHeaders;
  /** Streamed request body; a request with a body is never retried on another upstream. */
  readonly body?: Readable;
  /** Longest silence on the connection for this request, in ms, instead of the pool's timeout (a long-lived event stream). */
  readonly idleTimeoutMs?: number;
  /** Interim (1xx) answers, to relay to the reader (RFC 9110 §15.2). */
  readonly onInformation?: (info: Information) => void;
  /**
   * The journal position the answer must reflect (catch-up.ts): an upstream
   * whose Hyperstatic-Position is below it is passed over, and when every
   * one is, they are asked again until one has caught up or the pool's
   * catch-up wait ends (UpstreamBehindError). An answer without the field
   * (an origin that is no Hyperstatic mirror) is taken as it is.
   */
  readonly minPosition?: number;
  /**
   * When no upstream catches up within the wait: the answer of the upstream
   * furthest along, marked `behind`, instead of UpstreamBehindError (a page
   * that changed, not one the change removed; catch-up.ts).
   */
  readonly newestIfBehind?: boolean;
}

export interface UpstreamPool {
  readonly upstreams: readonly Upstream[];
  /**
   * Tries upstreams (up ones first) until one answers below 500; when none
   * does, the last server error an upstream gave is the answer (the origin's
   * own 5xx, with its body); NoUpstreamError only when no upstream answered.
   */
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** An answer that came back broken after its head (upstream-body.ts) counts as a failure of that upstream. */
  reportFailure(upstream: Upstream, error: UpstreamError): void;
  anyUp(): boolean;
  close(): void;
}

export interface UpstreamPoolOptions {
  readonly urls: readonly string[];
  readonly timeoutMs: number;
  readonly probeIntervalMs: number;
  readonly logger: Logger;
  /** Consecutive failures before an upstream is marked down. */
  readonly failureThreshold?: number;
  /** Path probed on a down upstream; any answer below 500 counts as alive. */
  readonly probePath?: string;
  readonly onFailure?: (upstream: Upstream, error: UpstreamError) => void;
  readonly onStateChange?: (upstream: Upstream) => void;
  /** How long a request with minPosition waits for an upstream to catch up, in ms (PROXY_CATCH_UP_WAIT_MS; default CATCH_UP_WAIT_MS). */
  readonly catchUpWaitMs?: number;
  /** An upstream named its journal position in an answer. */
  readonly onPosition?: (upstream: Upstream, position: number) => void;
  /** An upstream answered from behind a request's minPosition; its answer was dropped. */
  readonly onBehind?: (upstream: Upstream, position: number, wanted: number) => void;
}

/**
 * How long a fill waits for a mirror to reach the position of the eviction
 * that emptied its key, unless PROXY_CATCH_UP_WAIT_MS says otherwise. Mirrors apply a batch within milliseconds of each
 * other on a healthy network; a mirror later than this is lagging, and
 * readers get a stale copy where one may be served, else a 504, never the
 * answer from before the change.
 */
export const CATCH_UP_WAIT_MS = 2000;

/** The first pause between rounds of a catch-up wait, doubled up to CATCH_UP_PAUSE_MAX_MS. */
const CATCH_UP_PAUSE_MS = 20;
const CATCH_UP_PAUSE_MAX_MS = 200;

/** What a round over the upstreams gives when every answer came from behind the wanted position. */
const BEHIND = Symbol('behind');

/** RFC 9110 §7.6.1: connection-specific fields are never forwarded (and Expect is answered by us, §10.1.1). */
const HOP_BY_HOP = new Set([
  'expect',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

export function stripHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionTokens = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(headers)) {
    // HTTP/2's pseudo-header fields (:method, :path…; RFC 9113 §8.3) are not fields an HTTP/1.1 upstream may get.
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.has(name) || name.startsWith(':')) continue;
    out[name] = value;
  }
  return out;
}

/** Largest upstream response head accepted; room for long Surrogate-Key and Cache-Tag lists (docs/mirrors.md). */
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

function createAgents(): Agents {
  return {
    http: new http.Agent({ keepAlive: true, maxSockets: 512 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 512 }),
  };
}

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const threshold = options.failureThreshold ?? 3;
  const probePath = options.probePath ?? '/healthz';
  const catchUpWaitMs = options.catchUpWaitMs ?? CATCH_UP_WAIT_MS;
  const agents = createAgents();
  const send = async (upstream: Upstream, request: UpstreamRequest) => {
    const res = await sendTo(upstream, request, options.timeoutMs, agents);
    const position = parsePosition(res.headers[POSITION_HEADER]);
    if (position !== undefined && position > upstream.position) {
      upstream.position = position;
      options.onPosition?.(upstream, position);
    }
    return res;
  };
  const upstreams: Upstream[] = options.urls.map((raw) => {
    const url = new URL(raw);
    return { name: url.origin + url.pathname.replace(/\/$/, ''), url, up: true, consecutiveFailures: 0, position: 0 };
  });
  let closed = false;

  function succeeded(upstream: Upstream): void {
    upstream.consecutiveFailures = 0;
    if (!upstream.up) {
      upstream.up = true;
      options.logger.info({ upstream: upstream.name }, 'upstream is back up');
      options.onStateChange?.(upstream);
    }
  }

  function failed(upstream: Upstream, error: UpstreamError): void {
    upstream.consecutiveFailures += 1;
    options.onFailure?.(upstream, error);
    if (upstream.up && upstream.consecutiveFailures >= threshold) {
      upstream.up = false;
      options.logger.warn({ upstream: upstream.name, err: error.message }, 'upstream marked down');
      options.onStateChange?.(upstream);
    }
  }

  async function probe(upstream: Upstream): Promise<void> {
    try {
      const res = await send(upstream, { method: 'GET', url: probePath, headers: {} });
      res.resume();
      if (res.statusCode !== undefined && res.statusCode < 500) succeeded(upstream);
    } catch {
      // still down; the next probe tries again
    }
  }

  const probeTimer = setInterval(() => {
    for (const upstream of upstreams) if (!upstream.up && !closed) void probe(upstream);
  }, options.probeIntervalMs);
  probeTimer.unref();

  const round: Round = { upstreams, send, succeeded, failed, onBehind: options.onBehind };

  return {
    upstreams,
    anyUp: () => upstreams.some((u) => u.up),
    reportFailure: failed,
    async request(request) {
      const wanted = request.minPosition;
      if (wanted === undefined) return (await askInTurn(round, request)) as UpstreamResponse;
      return askCaughtUp(round, request, wanted, catchUpWaitMs);
    },
    close() {
      closed = true;
      clearInterval(probeTimer);
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** What one round over the upstreams needs from the pool. */
interface Round {
  readonly upstreams: readonly Upstream[];
  readonly send: (upstream: Upstream, request: UpstreamRequest) => Promise<IncomingMessage>;
  readonly succeeded: (upstream: Upstream) => void;
  readonly failed: (upstream: Upstream, error: UpstreamError) => void;
  readonly onBehind?: (upstream: Upstream, position: number, wanted: number) => void;
}

/**
 * One round over the upstreams (up ones first; with `wanted`, those known
 * to have reached it first). BEHIND when no upstream that answered had
 * reached `wanted` and none gave an answer to pass on.
 */
async function askInTurn(
  round: Round,
  request: UpstreamRequest,
  wanted?: number,
): Promise<UpstreamResponse | typeof BEHIND> {
  const { upstreams, send, succeeded, failed } = round;
  // Down upstreams stay a last resort: better a slow answer than none.
  const up = upstreams.filter((u) => u.up);
  const ranked =
    wanted === undefined ? up : [...up.filter((u) => u.position >= wanted), ...up.filter((u) => u.position < wanted)];
  const order = [...ranked, ...upstreams.filter((u) => !u.up)];
  const failures: UpstreamError[] = [];
  let behind = false;
  for (const [i, upstream] of order.entries()) {
    try {
      const res = await send(upstream, request);
      const status = res.statusCode ?? 502;
      const position = parsePosition(res.headers[POSITION_HEADER]);
      if (wanted !== undefined && position !== undefined && position < wanted) {
        // Its answer predates the change that emptied this key: not to be served or stored.
        res.resume();
        succeeded(upstream);
        behind = true;
        round.onBehind?.(upstream, position, wanted);
        continue;
      }
      // 5xx from a mirror means "not me, try another"; a request with a body cannot be replayed.
      if (status >= 500 && !request.body && status !== 501 && status !== 505) {
        const error = new UpstreamServerError(upstream.name, status);
        failed(upstream, error);
        failures.push(error);
        // The last one tried: its own answer is passed through (RFC 9111 §4: a cache forwards what the
        // origin said), unless one that is behind may catch up meanwhile.
        if (i === order.length - 1 && !behind) return { upstream, res };
        res.resume();
        continue;
      }
      succeeded(upstream);
      return { upstream, res };
    } catch (error) {
      const upstreamError = error instanceof UpstreamError ? error : new UpstreamConnectionError(upstream.name, error);
      failed(upstream, upstreamError);
      failures.push(upstreamError);
      if (request.body) break;
    }
  }
  if (behind) return BEHIND;
  // No answer from the last one, but an earlier one answered with an error: that answer, not our own 502.
  return askAgain(order, request, send, failures);
}

/**
 * Rounds over the upstreams until one answers from `wanted` or later (or
 * with an answer to pass on), pausing a little longer each time; after
 * `waitMs`, UpstreamBehindError.
 */
async function askCaughtUp(
  round: Round,
  request: UpstreamRequest,
  wanted: number,
  waitMs: number,
): Promise<UpstreamResponse> {
  const deadline = Date.now() + waitMs;
  for (let pause = CATCH_UP_PAUSE_MS; ; pause = Math.min(pause * 2, CATCH_UP_PAUSE_MAX_MS)) {
    const answer = await askInTurn(round, request, wanted);
    if (answer !== BEHIND) return answer;
    const left = deadline - Date.now();
    if (left <= 0) {
      if (!request.newestIfBehind) throw new UpstreamBehindError(round.upstreams, wanted, waitMs);
      const furthest = [...round.upstreams].sort((a, b) => b.position - a.position);
      const newest = await askInTurn({ ...round, upstreams: furthest }, request);
      if (newest === BEHIND) throw new UpstreamBehindError(round.upstreams, wanted, waitMs);
      return { ...newest, behind: true };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
  }
}

/**
 * The last upstream that answered with a server error, asked once more for
 * that answer; NoUpstreamError when none did (or it is gone meanwhile), or
 * when the request has a body that cannot be replayed.
 */
async function askAgain(
  order: readonly Upstream[],
  request: UpstreamRequest,
  send: (upstream: Upstream, request: UpstreamRequest) => Promise<IncomingMessage>,
  failures: UpstreamError[],
): Promise<UpstreamResponse> {
  const answered = [...failures].reverse().find((f) => f instanceof UpstreamServerError);
  const upstream = order.find((u) => u.name === answered?.upstream);
  if (upstream === undefined || request.body) throw new NoUpstreamError(failures);
  try {
    return { upstream, res: await send(upstream, request) };
  } catch {
    throw new NoUpstreamError(failures);
  }
}

/** One attempt on one upstream; the timeout covers connect, waiting for headers and every pause of the body. */
function sendTo(
  upstream: Upstream,
  request: UpstreamRequest,
  timeoutMs: number,
  agents: Agents,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = upstream.url.protocol === 'https:';
    const base = upstream.url.pathname.replace(/\/$/, '');
    const req = (secure ? https : http).request({
      protocol: upstream.url.protocol,
      hostname: upstream.url.hostname,
      port: upstream.url.port,
      method: request.method,
      path: base + request.url,
      // The upstream's own Host, never the client's: no host-header poisoning (docs/design.md, "Trust model").
      headers: { ...request.headers, host: upstream.url.host },
      agent: secure ? agents.https : agents.http,
      // A response head larger than this fails the request (HPE_HEADER_OVERFLOW) rather than growing without bound.
      maxHeaderSize: MAX_RESPONSE_HEAD_BYTES,
    });
    // Covers connect, waiting for headers and every pause while the body streams.
    const idleMs = request.idleTimeoutMs ?? timeoutMs;
    req.setTimeout(idleMs, () => req.destroy(new UpstreamTimeoutError(upstream.name, idleMs)));
    if (request.onInformation) req.on('information', request.onInformation);
    req.once('error', (error) =>
      reject(error instanceof UpstreamError ? error : new UpstreamConnectionError(upstream.name, error)),
    );
    req.once('response', (res) => {
      // Errors after the headers surface on the response stream, where the reader handles them.
      res.once('error', () => undefined);
      req.on('error', (error) => res.destroy(error));
      resolve(res);
    });
    if (request.body) {
      // A reader who aborts an upload aborts the upstream request with it.
      request.body.once('error', (error) => req.destroy(error));
      request.body.pipe(req);
    } else req.end();
  });
}
