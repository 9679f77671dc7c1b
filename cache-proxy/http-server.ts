// The proxy's listening socket: plain node:http (no framework on the hit
// path) with the connection-level fast path in front, a clear 4xx for a
// head node refuses to parse, and a close that does not wait on idle
// keep-alive readers.
import http from 'node:http';
import { installFastPath } from './fast-server';
import type { RequestHandler } from './request-handler';
import { listen, localUrl } from '../common/listen';

/** Largest request head (request line + headers) a reader may send; above it node answers 431. */
const MAX_HEADER_BYTES = 16 * 1024;
/** Idle time after which a reader's keep-alive connection is closed. */
export const KEEP_ALIVE_MS = 5_000;

export interface ProxyServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function listenProxy(handler: RequestHandler, port: number, host: string): Promise<ProxyServer> {
  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: 20_000,
      requestTimeout: 120_000,
      keepAliveTimeout: KEEP_ALIVE_MS,
    },
    handler,
  );
  const fastPath = installFastPath(server, {
    answer: handler.answerFast,
    maxHeaderBytes: MAX_HEADER_BYTES,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
  });
  server.on('clientError', answerClientError);

  const address = await listen(server, { port, host, component: 'cache proxy', portVariable: 'PROXY_PORT' });
  return {
    url: localUrl(address),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fastPath.closeConnections();
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

/** RFC 9110 §15.5.20 / RFC 6585 §5: node flags an oversized head; say so instead of dropping the connection. */
export function answerClientError(error: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : error.code === 'HPE_URI_TOO_LONG'
        ? '414 URI Too Long'
        : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\ncache-status: Hyperstatic; fwd=bypass; detail=rejected\r\n\r\n`,
  );
}
