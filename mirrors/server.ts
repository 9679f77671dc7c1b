// The mirror's HTTP face (plain node:http): routes each request to the
// static copy (page-route.ts), its blobs (blob-route.ts, so peers can fill
// from it), its own change feed (feed-route.ts), or the status, manifest and
// ops endpoints. Only paths present in the index are ever served; the
// request path is an index key, never a file name, and the Host header is
// never consulted.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { BLOB_PATH, FEED_PATH } from '../common/feed-format';
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
}

export function createMirrorServer(options: MirrorServerOptions): http.Server {
  const { store, hub, ops, logger } = options;
  const files = createFileSender(logger);
  const servePage = createPageRoute({ store, files, indexMaxAge: options.indexMaxAge, serving: options.serving });

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
