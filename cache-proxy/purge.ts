// PURGE <path> with `Authorization: Bearer <PROXY_PURGE_TOKEN>`: drops every
// stored query and variant of a path at once (purge endpoints need a
// token: docs/design.md, "Trust model"). Without a configured token the
// method is refused outright, never forwarded to an upstream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerMatches } from '../common/operator-access';
import { formatCacheStatus } from './cache-status';

export type PurgeOutcome = 'purged' | 'disabled' | 'unauthorized';

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
  evict: (path: string) => void,
): number {
  const outcome = purgeAuthorized(token, req.headers.authorization);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'cache-status': formatCacheStatus({ fwd: 'bypass', detail: 'purge' }),
  };
  let status: number;
  let body: Record<string, string>;
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
      evict(path);
      status = 200;
      body = { purged: path };
  }
  const text = `${JSON.stringify(body)}\n`;
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(status, headers);
  res.end(text);
  req.resume();
  return status;
}
