// Requests the cache does not answer (unsafe methods, OPTIONS, a range of
// something we do not hold): streamed to an upstream and back, body and
// all, and a successful unsafe request invalidates what it changed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { OWN_TARGETED_FIELD } from './cache-directives';
import { formatCacheStatus, type CacheStatus } from './cache-status';
import { relayInformation } from './interim';
import { normalizeTarget, type NormalizedTarget } from './normalize';
import type { Responder } from './responder';
import { stripHopByHop, type UpstreamPool } from './upstream-pool';

export interface PassThroughDeps {
  readonly pool: UpstreamPool;
  readonly respond: Responder;
  /** Drops a path from the cache and from fetches in flight. */
  readonly invalidate: (path: string) => void;
}

export type PassThrough = (
  req: IncomingMessage,
  res: ServerResponse,
  target: NormalizedTarget,
  status: CacheStatus,
  options?: { readonly idleTimeoutMs?: number },
) => Promise<void>;

export function createPassThrough(deps: PassThroughDeps): PassThrough {
  const { pool, respond, invalidate } = deps;
  return async (req, res, target, status, options = {}) => {
    const safe = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    const headers = stripHopByHop(req.headers);
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor
      ? `${String(forwardedFor)}, ${req.socket.remoteAddress ?? ''}`
      : (req.socket.remoteAddress ?? '');
    let upstreamRes: IncomingMessage;
    try {
      // A body is streamed, never buffered; a request that has one is not replayed on another upstream.
      ({ res: upstreamRes } = await pool.request({
        method: req.method ?? 'GET',
        url: target.url,
        headers,
        body: safe ? undefined : req,
        idleTimeoutMs: options.idleTimeoutMs,
        onInformation: (info) => relayInformation(req, res, info),
      }));
    } catch (error) {
      respond.fail(res, error, req.method === 'HEAD', status);
      return;
    }
    const code = upstreamRes.statusCode ?? 502;
    if (!safe && code < 400) {
      // RFC 9111 §4.4: a successful unsafe request invalidates the target URI and its Location.
      invalidate(target.path);
      for (const location of [upstreamRes.headers.location, upstreamRes.headers['content-location']]) {
        const path = sameOriginPath(location, req.headers.host);
        if (path !== undefined) invalidate(path);
      }
    }
    const answer = stripHopByHop(upstreamRes.headers);
    // RFC 9213: the targeted field meant for this cache alone goes no further.
    delete answer[OWN_TARGETED_FIELD];
    respond.writeHead(res, code, { ...answer, 'cache-status': formatCacheStatus({ ...status, fwdStatus: code }) });
    pipeline(upstreamRes, res, () => undefined);
  };
}

/**
 * The path of a Location or Content-Location value when it names this site:
 * a relative reference, or an absolute one on the Host the reader used
 * (RFC 9111 §4.4: never invalidate for another host).
 */
function sameOriginPath(location: string | undefined, host: string | undefined): string | undefined {
  if (!location) return undefined;
  let target = location;
  if (!location.startsWith('/') || location.startsWith('//')) {
    try {
      const url = new URL(location, `http://${host ?? 'invalid.invalid'}/`);
      if (url.host !== host) return undefined;
      target = url.pathname + url.search;
    } catch {
      return undefined;
    }
  }
  try {
    return normalizeTarget(target).path;
  } catch {
    return undefined;
  }
}
