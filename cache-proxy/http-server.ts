// The proxy's listening socket: plain node:http (no framework on the hit
// path) with the connection-level fast path in front, a clear 4xx for a
// head node refuses to parse or a reader too slow to send one, a cap on
// connections per client address, and a close that does not wait on idle
// keep-alive readers.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { limitConnectionsPerAddress } from './connection-limits';
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

/** What a reader's connection may cost (docs/cache-proxy.md, "Slow clients"). */
export interface ClientLimits {
  /** From a head's first byte to its last, on the fast path and in node:http alike (PROXY_HEADERS_TIMEOUT_MS). */
  readonly headersTimeoutMs: number;
  /** A whole request, body included; also the longest a connection may make no progress (PROXY_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
  /** PROXY_MAX_CONNECTIONS_PER_ADDRESS; 0: no cap. */
  readonly maxConnectionsPerAddress: number;
  /** A connection refused or cut: too many from its address, or too slow to send its request. */
  readonly onRefused?: (reason: 'per-address' | 'request-timeout') => void;
}

export async function listenProxy(
  handler: RequestHandler,
  port: number,
  host: string,
  limits: ClientLimits,
): Promise<ProxyServer> {
  // node refuses a headers timeout above the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_MS,
      // How often node looks for connections past those timeouts (its default, 30 s, would let one outlive them by as much).
      connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    handler,
  );
  // A reader that takes no more bytes (or sends none mid-request) for this long is cut.
  server.setTimeout(limits.requestTimeoutMs);
  const fastPath = installFastPath(server, {
    answer: handler.answerFast,
    maxHeaderBytes: MAX_HEADER_BYTES,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
    headersTimeoutMs: headersTimeout,
    onHeadTimeout: () => limits.onRefused?.('request-timeout'),
  });
  limitConnectionsPerAddress(server, {
    perAddress: limits.maxConnectionsPerAddress,
    refusal: 'http',
    onRefused: () => limits.onRefused?.('per-address'),
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') limits.onRefused?.('request-timeout');
    answerClientError(error, socket);
  });

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

/**
 * RFC 9110 §15.5.20 / RFC 6585 §5: node flags an oversized head; RFC 9110
 * §15.5.9: a reader too slow to send its request gets 408. Say so instead
 * of dropping the connection.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : error.code === 'HPE_URI_TOO_LONG'
        ? '414 URI Too Long'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\ncache-status: Hyperstatic; fwd=bypass; detail=rejected\r\n\r\n`,
  );
}
