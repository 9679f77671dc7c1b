// PURGE <path> with `Authorization: Bearer <PROXY_PURGE_TOKEN>`: drops every
// stored query and variant of a path at once, or with
// `Hyperstatic-Purge-Mode: soft` marks them stale (soft-purge.ts); without
// the field, PROXY_PURGE_MODE decides (purge endpoints need a token:
// docs/design.md, "Trust model"). Without a configured token the method is
// refused outright, never forwarded to an upstream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerMatches } from '../common/operator-access';
import { formatCacheStatus } from './cache-status';
import { parsePurgeMode, type PurgeMode } from './soft-purge';

export type PurgeOutcome = 'purged' | 'disabled' | 'unauthorized';

/** The request field that chooses hard or soft for one PURGE. */
export const PURGE_MODE_HEADER = 'hyperstatic-purge-mode';

/** Whether the request carries the purge token; compared in constant time. */
export function purgeAuthorized(token: string, authorization: string | undefined): PurgeOutcome {
  if (token === '') return 'disabled';
  return bearerMatches(token, authorization) ? 'purged' : 'unauthorized';
}

export function handlePurge(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  token: string,
  evict: (path: string, mode?: PurgeMode) => void,
): number {
  const outcome = purgeAuthorized(token, req.headers.authorization);
  const rawMode = req.headers[PURGE_MODE_HEADER];
  const mode = parsePurgeMode(Array.isArray(rawMode) ? rawMode[0] : rawMode);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'cache-status': formatCacheStatus({ fwd: 'bypass', detail: 'purge' }),
  };
  let status: number;
  let body: Record<string, string | undefined>;
  switch (outcome) {
    case 'disabled':
      status = 405;
      body = { error: 'PURGE is disabled on this proxy (set PROXY_PURGE_TOKEN to enable it).' };
      break;
    case 'unauthorized':
      status = 401;
      headers['www-authenticate'] = 'Bearer realm="hyperstatic-proxy"';
      body = { error: 'PURGE needs "Authorization: Bearer <PROXY_PURGE_TOKEN>".' };
      break;
    case 'purged':
      if (rawMode !== undefined && mode === undefined) {
        status = 400;
        body = { error: 'Hyperstatic-Purge-Mode must be hard or soft.' };
        break;
      }
      evict(path, mode);
      status = 200;
      body = { purged: path, mode };
  }
  const text = `${JSON.stringify(body)}\n`;
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(status, headers);
  res.end(text);
  req.resume();
  return status;
}
