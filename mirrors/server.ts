// The mirror's HTTP face (plain node:http): routes each request to the
// static copy (page-route.ts), its blobs (blob-route.ts, so peers can fill
// from it), its own change feed (feed-route.ts), or the status, manifest and
// ops endpoints. Only paths present in the index are ever served; the
// request path is an index key, never a file name, and the Host header is
// never consulted.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { BLOB_PATH, FEED_PATH } from '../common/feed-format';
import type { TrustState } from '../common/trust/trust-state';
import type { Logger } from '../common/logger';
import { sendJson, type Ops } from '../common/ops';
import { serveBlob } from './blob-route';
import type { FeedHub } from './feed-hub';
import { serveFeed, wantsChangeFeed } from './feed-route';
import { createFileSender, sendText } from './file-responses';
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
  status: () => unknown;
  /** False while the mirror bootstraps: pages answer 503 so no cache keeps a half-loaded copy. */
  serving?: () => boolean;
  /** Set while the copy is frozen (docs/trust.md, "Signed freshness"): since when. */
  frozenSince?: () => number | undefined;
  /** The trust statements and newest heartbeat, published for readers' tools at /.well-known/hyperstatic/. */
  trust?: TrustState;
}

/** Public, self-verifying trust documents (docs/trust.md): anyone may fetch and check them against the root keys. */
function serveWellKnown(res: ServerResponse, path: string, trust: TrustState): boolean {
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

export function createMirrorServer(options: MirrorServerOptions): http.Server {
  const { store, hub, ops, logger } = options;
  const files = createFileSender(logger);
  const servePage = createPageRoute({
    store,
    files,
    indexMaxAge: options.indexMaxAge,
    serving: options.serving,
    frozenSince: options.frozenSince,
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (ops.handle(req, res)) return;
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
    if (path === '/_mirror/status') return sendJson(res, 200, options.status());
    if (path === '/_mirror/manifest') return serveManifest(req, res, store);
    if (path.startsWith(WELL_KNOWN) && options.trust && serveWellKnown(res, path, options.trust)) return;
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
