// How the mirror answers with a stored file (a page's or a blob's bytes),
// whole or as one byte range, and its plain-text and not-found answers.
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../common/logger';
import { contentRange, selectRange, unsatisfiedRange } from '../common/http-conditional';

export interface FileSender {
  /** Answers with `file` (or the `range` of it); a file that cannot be opened is a 500, never a truncated 200. */
  sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    status: number,
    headers: http.OutgoingHttpHeaders,
    range?: { start: number; end: number },
  ): void;
  /** Answers a GET that may carry a Range (RFC 9110 §14.2) with 200, 206 or 416. */
  sendRanged(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    headers: http.OutgoingHttpHeaders,
    etag: string,
    lastModified: string,
  ): void;
}

export function createFileSender(logger: Logger): FileSender {
  const sendRanged: FileSender['sendRanged'] = (req, res, file, headers, etag, lastModified) => {
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
  };

  const sendFile: FileSender['sendFile'] = (req, res, file, status, headers, range) => {
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
  };

  function sendBroken(res: ServerResponse, what: string, error: Error): void {
    // The index only links to verified blobs, so this means the disk was tampered with or failed.
    logger.error({ err: error, what }, 'indexed blob is unreadable');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendText(res, 500, 'Internal error: stored copy unreadable\n');
  }

  return { sendFile, sendRanged };
}

export function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Served only until the copy holds the site's own /404.html (mirrors/page-route.ts). */
const NOT_FOUND_HTML =
  '<!doctype html>\n<html lang="en">\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>Page not found</title>\n<h1>Page not found</h1>\n<p>There is no page at this address. <a href="/">Go to the front page</a>.</p>\n</html>\n';

/** `extra`: the page route's security headers (a missing path is a public page too). */
export function sendNotFound(res: ServerResponse, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(404, {
    ...extra,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(NOT_FOUND_HTML),
  });
  res.end(NOT_FOUND_HTML);
}
