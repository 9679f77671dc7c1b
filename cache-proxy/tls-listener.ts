// The proxy's HTTPS listener (PROXY_TLS_PORT): node:http2's secure server
// with HTTP/1.1 fallback, so one port speaks h2 to clients that offer it in
// ALPN and HTTP/1.1 to the rest. Both reach the same request handler; an
// HTTP/1.1 connection first goes through the same connection-level fast
// path as the plain listener (fast-server.ts), which an h2 session never
// sees (its frames are not HTTP/1.1 heads): h2 hits are answered by the
// handler's own fresh-hit path (fresh-hit.ts). Certificates are picked by
// SNI and swapped by reload() for new handshakes only; connections already
// open keep the certificate they were given (docs/cache-proxy.md,
// "TLS and HTTP/2").
import { EventEmitter } from 'node:events';
import http2, {
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { listen, localUrl } from '../common/listen';
import { installFastPath } from './fast-server';
import { CONNECTION_FIELDS, h2Headers } from './hit-path';
import type { HitAnswer } from './fresh-hit';
import { limitConnectionsPerAddress } from './connection-limits';
import { answerClientError, KEEP_ALIVE_MS, type ClientLimits } from './http-server';
import type { RequestHandler } from './request-handler';
import { loadCertificates, secureOptions, type CertificateSet, type CertificateSource } from './tls-certificates';

/** Same limits as the plain listener (http-server.ts). */
const MAX_HEADER_BYTES = 16 * 1024;
/** An h2 session with no frames for this long is closed (GOAWAY), as an idle HTTP/1.1 keep-alive one is. */
const H2_IDLE_MS = 60_000;
/** Streams one h2 client may have open at once (RFC 9113 §6.5.2 leaves it unlimited by default). */
const H2_MAX_STREAMS = 128;

export interface TlsListener {
  readonly url: string;
  /** The certificates new handshakes get. */
  current(): CertificateSet;
  /** Reads the certificate files again; on any error keeps the set in use and throws (a ConfigError naming the variable). */
  reload(): CertificateSet;
  close(): Promise<void>;
}

/**
 * A fresh hit on an h2 stream is answered from the hot headers directly
 * (stream.respond): node's compatibility request and response objects cost
 * more than the hit itself, as node:http's do on HTTP/1.1 (fast-server.ts).
 * Every other stream goes on to the compatibility layer and the handler.
 */
function answerHitsOnStreams(server: http2.Http2SecureServer, answerHit: HitAnswer): void {
  const [compatibility] = server.listeners('stream') as ((stream: ServerHttp2Stream, ...rest: unknown[]) => void)[];
  server.removeListener('stream', compatibility);
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
    const hit = answerHit(headers[':method'], headers[':path'] ?? '/', headers);
    if (hit === undefined) {
      compatibility.call(server, stream, headers, ...rest);
      return;
    }
    // A reset from the client (RST_STREAM with an error code) surfaces here; it concerns that stream alone.
    stream.on('error', ignore);
    // RFC 9113 §8.1: a response without content ends with its HEADERS frame.
    if (hit.body === undefined) stream.respond(hit.headers, { endStream: true });
    else {
      stream.respond(hit.headers);
      stream.end(hit.body);
    }
  });
}

function ignore(): void {}

/** The compatibility response drops them too, whether set one by one or given to writeHead. */
function dropConnectionFields(res: Http2ServerResponse): void {
  const setHeader = res.setHeader.bind(res);
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => Http2ServerResponse;
  res.setHeader = (name, value) => (CONNECTION_FIELDS.has(name.toLowerCase()) ? res : setHeader(name, value));
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    const last = rest.at(-1);
    if (typeof last === 'object' && last !== null && !Array.isArray(last))
      rest[rest.length - 1] = h2Headers(last as OutgoingHttpHeaders);
    return writeHead(status, ...rest);
  }) as typeof res.writeHead;
}

export async function listenTls(
  handler: RequestHandler,
  source: CertificateSource,
  port: number,
  host: string,
  limits: ClientLimits,
): Promise<TlsListener> {
  // node refuses a headers timeout above the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  let certificates = loadCertificates(source);
  const server = http2.createSecureServer({
    ...secureOptions(certificates.fallback),
    allowHTTP1: true,
    SNICallback: (servername, callback) => callback(null, certificates.contextFor(servername)),
    settings: { maxConcurrentStreams: H2_MAX_STREAMS },
  });
  // node:http's own settings for the HTTP/1.1 fallback, read from the server object.
  Object.assign(server, {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_MS,
  });
  server.setTimeout(H2_IDLE_MS);
  server.on('request', (req, res) => handleRequest(handler, req, res));
  answerHitsOnStreams(server, handler.answerHit);
  server.on('clientError', answerClientError);
  // A handshake that fails (an old protocol, no shared cipher, a scanner) concerns that socket only.
  server.on('tlsClientError', (_error, socket) => socket.destroy());

  const sessions = trackSessions(server);

  // HTTP/1.1 sockets take the fast path first, then node's fallback; h2 ones go straight to node.
  const [nodeListener] = server.listeners('secureConnection') as ((socket: TLSSocket) => void)[];
  server.removeListener('secureConnection', nodeListener);
  const http1 = new EventEmitter();
  http1.on('connection', (socket: TLSSocket) => nodeListener.call(server, socket));
  // installFastPath takes over a server's 'connection' listener; this emitter stands for one, fed below.
  const fastPath = installFastPath(http1 as unknown as http.Server, {
    answer: handler.answerFast,
    maxHeaderBytes: MAX_HEADER_BYTES,
    keepAliveTimeoutMs: KEEP_ALIVE_MS,
    headersTimeoutMs: headersTimeout,
    onHeadTimeout: () => limits.onRefused?.('request-timeout'),
  });
  // Counted on the raw TCP connection, before the handshake: a refused one is closed (nothing may be written yet).
  limitConnectionsPerAddress(server, {
    perAddress: limits.maxConnectionsPerAddress,
    refusal: 'close',
    onRefused: () => limits.onRefused?.('per-address'),
  });
  const open = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    if (socket.alpnProtocol === 'h2') nodeListener.call(server, socket);
    else http1.emit('connection', socket);
  });

  const address = await listen(server, {
    port,
    host,
    component: 'cache proxy (HTTPS)',
    portVariable: 'PROXY_TLS_PORT',
  });
  return {
    url: localUrl(address).replace(/^http:/, 'https:'),
    current: () => certificates,
    reload() {
      const next = loadCertificates(source);
      // The default context serves clients without SNI; SNICallback reads `certificates` at each handshake.
      // A new context would make new session-ticket keys, each worker its own (node:cluster shares the
      // first worker's at listen only): keep them, so readers resume on any worker after a renewal.
      const ticketKeys = server.getTicketKeys();
      server.setSecureContext(secureOptions(next.fallback));
      server.setTicketKeys(ticketKeys);
      certificates = next;
      return next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // GOAWAY: streams in progress finish, no new ones start (RFC 9113 §6.8).
        for (const session of sessions) session.close();
        fastPath.closeConnections();
        // The HTTP/1.1 fallback tracks its connections as node:http does (setupConnectionsTracking), so the same call closes the idle ones.
        http.Server.prototype.closeIdleConnections.call(server as unknown as http.Server);
        setTimeout(() => {
          for (const socket of open) socket.destroy();
        }, 2000).unref();
      }),
  };
}

function handleRequest(
  handler: RequestHandler,
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
): void {
  if (req.httpVersionMajor === 2) {
    // RFC 9113 §8.3.1: h2 carries the host in :authority; the handler (and the access log) read Host.
    req.headers.host ??= (req as Http2ServerRequest).authority;
    dropConnectionFields(res as Http2ServerResponse);
  }
  // The compatibility objects answer writeHead/setHeader/end/destroy like node:http's for what the handler uses.
  handler(req as IncomingMessage, res as ServerResponse);
}

/** Open HTTP/2 sessions, to send each a GOAWAY on close. */
function trackSessions(server: Http2SecureServer): Set<ServerHttp2Session> {
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return sessions;
}
