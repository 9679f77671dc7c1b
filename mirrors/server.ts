// The mirror's HTTP face (plain node:http): routes each request to the
// static copy (page-route.ts), its blobs (blob-route.ts, so peers can fill
// from it), its own change feed (feed-route.ts), or the operator endpoints
// (status, manifest, metrics). Only paths present in the index are ever
// served; the request path is an index key, never a file name, and the Host
// header is never consulted.
//
// Two listeners share these routes: the public port, where the operator
// endpoints answer only to MIRROR_ADMIN_TOKEN and are otherwise the 404 of
// any unknown path, and the operator listener (MIRROR_INTERNAL_PORT), where
// they answer without a token (docs/design.md, "Operator endpoints").
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { BLOB_PATH, FEED_PATH } from '../common/feed-format';
import type { TrustState } from '../common/trust/trust-state';
import type { Logger } from '../common/logger';
import { isOperatorPath, isOperatorRequest } from '../common/operator-access';
import { sendJson, type Ops } from '../common/ops';
import { serveBlob } from './blob-route';
import type { FeedHub } from './feed-hub';
import { serveFeed, wantsChangeFeed } from './feed-route';
import { createFileSender, sendText } from './file-responses';
import { corsHeaders, createFailoverRoute, type FailoverOptions } from './failover-route';
import { serveManifest } from './manifest-route';
import type { MirrorStore } from './mirror-store';
import { createPageRoute } from './page-route';
import { parseRequestPath } from './request-path';

const WELL_KNOWN = '/.well-known/hyperstatic/';

export interface MirrorServerOptions {
  store: MirrorStore;
  hub: FeedHub;
  ops: Ops;
  logger: Logger;
  /** Cache-Control max-age for index and feed pages, in seconds. */
  indexMaxAge: number;
  /** Content-Security-Policy frame-ancestors sources (MIRROR_FRAME_ANCESTORS). */
  frameAncestors?: string;
  status: () => unknown;
  /** False while the mirror bootstraps: pages answer 503 so no cache keeps a half-loaded copy. */
  serving?: () => boolean;
  /** Set while the copy is frozen (docs/trust.md, "Signed freshness"): since when. */
  frozenSince?: () => number | undefined;
  /** The trust statements and newest heartbeat, published for readers' tools at /.well-known/hyperstatic/. */
  trust?: TrustState;
  /** Bearer token that opens the operator endpoints on the public port; empty: they are not there. */
  adminToken: string;
  /** This mirror's own addresses (MIRROR_PUBLIC_URL, MIRROR_ONION_LOCATION); empty strings when not set. */
  address?: MirrorAddress;
  /** The service worker and proofs of browser failover (failover-route.ts); absent: not served. */
  failover?: Omit<FailoverOptions, 'frameAncestors'>;
}

export interface MirrorAddress {
  publicUrl: string;
  onionLocation: string;
}

/** Public, self-verifying trust documents (docs/trust.md): anyone may fetch and check them against the root keys. */
function serveWellKnown(res: ServerResponse, path: string, trust: TrustState, address?: MirrorAddress): boolean {
  if (path === `${WELL_KNOWN}mirror.json` && address && (address.publicUrl || address.onionLocation)) {
    sendJson(
      res,
      200,
      { publicUrl: address.publicUrl || null, onionLocation: address.onionLocation || null },
      { 'cache-control': 'public, max-age=300' },
    );
    return true;
  }
  if (path === `${WELL_KNOWN}heartbeat.json`) {
    const heartbeat = trust.latestHeartbeat();
    if (!heartbeat) return false;
    sendJson(res, 200, heartbeat, { 'cache-control': 'public, max-age=2' });
    return true;
  }
  if (path === `${WELL_KNOWN}trust.json`) {
    sendJson(res, 200, trust.bundle(), { 'cache-control': 'public, max-age=60' });
    return true;
  }
  return false;
}

/** Which listener a server is: the public port readers and peers use, or the operator listener. */
export type MirrorListener = 'public' | 'operator';

export function createMirrorServer(options: MirrorServerOptions, listener: MirrorListener = 'public'): http.Server {
  const { store, hub, ops, logger } = options;
  const files = createFileSender(logger);
  const servePage = createPageRoute({
    store,
    files,
    indexMaxAge: options.indexMaxAge,
    serving: options.serving,
    frozenSince: options.frozenSince,
    onionLocation: options.address?.onionLocation,
    frameAncestors: options.frameAncestors,
  });
  const serveFailover = options.failover
    ? createFailoverRoute({ ...options.failover, frameAncestors: options.frameAncestors ?? "'none'", store })
    : undefined;

  /** The operator endpoints under a decoded path; false when there is none at this path. */
  function serveOperator(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path === '/metrics') return ops.handle(req, res);
    if (path === '/_mirror/status') sendJson(res, 200, options.status());
    else if (path === '/_mirror/manifest') serveManifest(req, res, store);
    else return false;
    return true;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const operator = listener === 'operator' || isOperatorRequest(req, options.adminToken);
    if (operator ? ops.handle(req, res) : ops.handlePublic(req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method not allowed\n');
      return;
    }
    const target = parseRequestPath(req.url);
    if (!target.ok) {
      sendText(res, 400, `Bad request: ${target.reason}\n`);
      return;
    }
    const { path } = target;
    if (path === FEED_PATH && wantsChangeFeed(req, target.query, store)) return serveFeed(req, res, target.query, hub);
    // Without the operator's access an operator path falls through to the page route: the 404 of any unknown path.
    if (operator && isOperatorPath(path) && serveOperator(req, res, path)) return;
    if (serveFailover?.(req, res, path, target.query)) return;
    // Public files answer other sites' readers (a service worker failing over from another mirror); nothing else does.
    for (const [name, value] of Object.entries(corsHeaders())) res.setHeader(name, value);
    if (path.startsWith(WELL_KNOWN) && options.trust && serveWellKnown(res, path, options.trust, options.address))
      return;
    if (path.startsWith(BLOB_PATH)) return serveBlob(req, res, path.slice(BLOB_PATH.length), { store, files });
    servePage(req, res, path);
  }

  return http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      logger.error({ err: error, url: req.url }, 'mirror request failed');
      if (!res.headersSent) sendText(res, 500, 'Internal error\n');
      else res.destroy();
    }
  });
}
