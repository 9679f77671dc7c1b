// Readers' change-feed streams (`GET /feed`, Server-Sent Events) relayed
// through the proxy to its upstream, bounded: each one holds a connection
// here and one upstream for as long as the reader stays, so
// PROXY_FEED_MAX_STREAMS caps them overall (503, RFC 9110 §15.6.4) and
// PROXY_FEED_MAX_STREAMS_PER_ADDRESS per client address (429, RFC 6585 §4).
// A stream is never cached or coalesced: each reader resumes from its own
// cursor.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FEED_PATH } from '../common/feed-format';
import { formatCacheStatus } from './cache-status';
import { clientAddress } from './connection-limits';
import type { ProxyMetrics } from './metrics';
import type { NormalizedTarget } from './normalize';
import type { PassThrough } from './pass-through';
import type { Responder } from './responder';

export interface FeedStreamLimits {
  /** Streams relayed at once; 0 refuses every one. */
  readonly maxStreams: number;
  /** Streams one client address may hold. */
  readonly maxPerAddress: number;
}

/**
 * The longest an upstream feed may stay silent: mirrors send a comment
 * every 15 s (common/feed-format.ts) and a heartbeat more often, so three
 * missed pings mean the stream is dead, where the pool's usual timeout
 * would cut a healthy one.
 */
export const FEED_IDLE_MS = 45_000;

/** Whether a request for /feed asks for the event stream (as mirrors/feed-route.ts decides it). */
export function wantsChangeFeed(req: IncomingMessage, target: NormalizedTarget): boolean {
  if (target.path !== FEED_PATH) return false;
  if (String(req.headers.accept ?? '').includes('text/event-stream')) return true;
  const query = target.url.slice(target.path.length + 1);
  return new URLSearchParams(query).has('after') || req.headers['last-event-id'] !== undefined;
}

export type FeedRelay = (req: IncomingMessage, res: ServerResponse, target: NormalizedTarget) => boolean;

export function createFeedRelay(deps: {
  readonly limits: FeedStreamLimits;
  readonly passThrough: PassThrough;
  readonly respond: Responder;
  readonly metrics: ProxyMetrics;
}): FeedRelay {
  const { limits, passThrough, respond, metrics } = deps;
  const perAddress = new Map<string, number>();
  let open = 0;

  function refuse(req: IncomingMessage, res: ServerResponse, reason: 'total' | 'per-address'): void {
    metrics.feedStreamsRefused.inc({ reason });
    const status = reason === 'total' ? 503 : 429;
    res.setHeader('retry-after', '10');
    respond.errorPage(
      res,
      status,
      reason === 'total'
        ? 'This cache relays as many change-feed streams as it can; try again shortly.'
        : 'Too many change-feed streams from your address.',
      formatCacheStatus({ fwd: 'bypass', detail: 'feed-limit' }),
      req.method === 'HEAD',
    );
  }

  return (req, res, target) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !wantsChangeFeed(req, target)) return false;
    const address = clientAddress(req.socket);
    const held = perAddress.get(address) ?? 0;
    if (open >= limits.maxStreams) refuse(req, res, 'total');
    else if (held >= limits.maxPerAddress) refuse(req, res, 'per-address');
    else {
      open += 1;
      perAddress.set(address, held + 1);
      metrics.feedStreams.set(open);
      res.once('close', () => {
        open -= 1;
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left <= 0) perAddress.delete(address);
        else perAddress.set(address, left);
        metrics.feedStreams.set(open);
      });
      passThrough(req, res, target, { fwd: 'request', detail: 'feed' }, { idleTimeoutMs: FEED_IDLE_MS }).catch(
        (error: unknown) => respond.fail(res, error, req.method === 'HEAD'),
      );
    }
    return true;
  };
}
