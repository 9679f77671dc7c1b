// The mirror's HTTP face (plain node:http): the static copy, its blobs (so
// peers can fill from it), its own change feed, status and ops endpoints.
// Only paths present in the index are ever served; the request path is an
// index key, never a file name, and the Host header is never consulted.
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { BLOB_PATH, FEED_PATH, type PageKind } from '../common/feed-format';
import { SHA256_HEX } from '../common/hash';
import { contentRange, etagOf, httpDate, notModified, selectRange, unsatisfiedRange } from '../common/http-conditional';
import type { Logger } from '../common/logger';
import { sendJson, type Ops } from '../common/ops';
import { ASSETS_PREFIX } from '../common/site-paths';
import type { FeedHub } from './feed-hub';
import type { MirrorStore } from './mirror-store';
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

/** Kinds whose freshness is a short fixed TTL (DESIGN §3); others get none so the cache tier's heuristic applies. */
const SHORT_TTL_KINDS: ReadonlySet<PageKind> = new Set(['index', 'feed']);

export function createMirrorServer(options: MirrorServerOptions): http.Server {
  const { store, hub, ops, logger } = options;

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
    if (path === FEED_PATH && wantsChangeFeed(req, target.query)) return serveFeed(req, res, target.query);
    if (path === '/_mirror/status') return sendJson(res, 200, options.status());
    if (path === '/_mirror/manifest') return serveManifest(req, res);
    if (path.startsWith(BLOB_PATH)) return serveBlob(req, res, path.slice(BLOB_PATH.length));
    servePage(req, res, path);
  }

  /** `/feed` is the change feed for feed clients; a published page at `/feed` (say, RSS) still reaches browsers. */
  function wantsChangeFeed(req: IncomingMessage, query: string): boolean {
    if (String(req.headers.accept ?? '').includes('text/event-stream')) return true;
    if (new URLSearchParams(query).has('after') || req.headers['last-event-id'] !== undefined) return true;
    return store.lookup(FEED_PATH) === undefined;
  }

  function serveFeed(req: IncomingMessage, res: ServerResponse, query: string): void {
    const params = new URLSearchParams(query);
    const raw = params.get('after') ?? headerValue(req, 'last-event-id') ?? '0';
    if (!/^\d{1,15}$/.test(raw)) {
      sendText(res, 400, 'Bad request: after must be a non-negative integer\n');
      return;
    }
    hub.serve(req, res, Number(raw));
  }

  /**
   * This mirror's copy as a manifest (common/feed-format.ts) for `mirror
   * verify --peer`: unsigned (a mirror holds no signing key), so a verifier
   * only reports differences against it. Streamed from one SQLite read.
   */
  function serveManifest(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const { epoch, cursor } = store.state();
    const pages = store.pages();
    let count = 0;
    res.write(`${JSON.stringify({ type: 'head', epoch, cursor })}\n`);
    const pump = (): void => {
      for (;;) {
        if (res.destroyed) {
          pages.return(undefined);
          return;
        }
        const next = pages.next();
        if (next.done) {
          res.end(`${JSON.stringify({ type: 'end', count, sig: '' })}\n`);
          return;
        }
        const p = next.value;
        count += 1;
        const line = {
          path: p.path,
          op: p.op,
          sha256: p.sha256,
          size: p.size,
          contentType: p.contentType,
          lastModified: p.lastModified,
          kind: p.kind,
          seq: p.seq,
        };
        if (!res.write(`${JSON.stringify(line)}\n`)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.on('close', () => pages.return(undefined));
    pump();
  }

  function serveBlob(req: IncomingMessage, res: ServerResponse, sha256: string): void {
    if (!SHA256_HEX.test(sha256) || !store.hasBlob(sha256)) {
      sendNotFound(res);
      return;
    }
    const etag = etagOf(sha256);
    // Content-addressed and immutable: a client holding the tag holds the current bytes.
    if (notModified(req.headers, { etag })) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      etag,
      'cache-control': 'public, max-age=31536000, immutable',
      'accept-ranges': 'bytes',
    };
    // Ranges let a peer resume a large download it lost midway (blob-fetcher.ts).
    sendRanged(req, res, store.blobPath(sha256), headers, etag, '');
  }

  function servePage(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (options.serving && !options.serving()) {
      // A bootstrap changes pages without batches, so the cache tier would never be told to evict
      // what it cached now: refuse (uncacheable) until the copy is whole.
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'retry-after': '5',
      });
      res.end('This mirror is loading its copy of the site; try again shortly.\n');
      return;
    }
    const page = store.lookup(path);
    if (!page) {
      // `/articles/x` for a page stored as `/articles/x/`: the safe path has no `//`, so this cannot redirect off-site.
      if (!path.endsWith('/') && store.lookup(`${path}/`)) {
        res.writeHead(301, { location: `${encodeURI(path)}/`, 'content-type': 'text/plain; charset=utf-8' });
        res.end('Moved\n');
        return;
      }
      sendNotFound(res);
      return;
    }
    const etag = etagOf(page.sha256);
    const lastModified = httpDate(page.lastModified);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': page.contentType,
      etag,
      'last-modified': lastModified,
      'hyperstatic-kind': page.kind,
      'x-content-type-options': 'nosniff',
    };
    if (SHORT_TTL_KINDS.has(page.kind)) headers['cache-control'] = `public, max-age=${options.indexMaxAge}`;
    // Named by their content hash: a changed file gets a new path.
    else if (page.path.startsWith(ASSETS_PREFIX)) headers['cache-control'] = 'public, max-age=31536000, immutable';
    if (page.op === 'gone') {
      sendFile(req, res, store.blobPath(page.sha256), 410, headers);
      return;
    }
    if (notModified(req.headers, { etag, 'last-modified': lastModified })) {
      delete headers['content-type'];
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (page.kind === 'media') {
      headers['accept-ranges'] = 'bytes';
      return sendRanged(req, res, store.blobPath(page.sha256), headers, etag, lastModified);
    }
    sendFile(req, res, store.blobPath(page.sha256), 200, headers);
  }

  function sendRanged(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    headers: http.OutgoingHttpHeaders,
    etag: string,
    lastModified: string,
  ): void {
    fs.stat(file, (error, stat) => {
      if (error) return sendBroken(res, file, error);
      const range = selectRange(req.headers, { etag, 'last-modified': lastModified || undefined }, stat.size);
      if (range.kind === 'unsatisfiable') {
        res.writeHead(416, {
          'content-range': unsatisfiedRange(stat.size),
          'content-type': 'text/plain; charset=utf-8',
        });
        res.end('Range not satisfiable\n');
        return;
      }
      if (range.kind === 'partial') {
        headers['content-range'] = contentRange(range, stat.size);
        sendFile(req, res, file, 206, headers, range);
        return;
      }
      sendFile(req, res, file, 200, headers);
    });
  }

  function sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    status: number,
    headers: http.OutgoingHttpHeaders,
    range?: { start: number; end: number },
  ): void {
    // Open first so a missing blob becomes a clean 500 instead of a truncated 200.
    fs.open(file, 'r', (error, fd) => {
      if (error) return sendBroken(res, req.url ?? '', error);
      fs.fstat(fd, (statError, stat) => {
        if (statError) {
          fs.close(fd, () => undefined);
          return sendBroken(res, req.url ?? '', statError);
        }
        const length = range ? range.end - range.start + 1 : stat.size;
        res.writeHead(status, { ...headers, 'content-length': length });
        if (req.method === 'HEAD') {
          fs.close(fd, () => undefined);
          res.end();
          return;
        }
        const stream = fs.createReadStream('', { fd, start: range?.start, end: range?.end });
        stream.on('error', (streamError) => {
          logger.error({ err: streamError, file }, 'reading a blob failed mid-response');
          res.destroy(streamError);
        });
        res.on('close', () => stream.destroy());
        stream.pipe(res);
      });
    });
  }

  function sendBroken(res: ServerResponse, what: string, error: Error): void {
    // The index only links to verified blobs, so this means the disk was tampered with or failed.
    logger.error({ err: error, what }, 'indexed blob is unreadable');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendText(res, 500, 'Internal error: stored copy unreadable\n');
  }

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      logger.error({ err: error, url: req.url }, 'mirror request failed');
      if (!res.headersSent) sendText(res, 500, 'Internal error\n');
      else res.destroy();
    }
  });
  return server;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

const NOT_FOUND_HTML =
  '<!doctype html>\n<meta charset="utf-8">\n<title>Not found</title>\n<h1>Not found</h1>\n<p>This mirror has no page at this address.</p>\n';

function sendNotFound(res: ServerResponse): void {
  res.writeHead(404, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(NOT_FOUND_HTML),
  });
  res.end(NOT_FOUND_HTML);
}
