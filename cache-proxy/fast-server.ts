// A connection-level fast path in front of node:http for the one request
// that dominates a flood: a plain keep-alive GET or HEAD of a page held
// fresh in memory. Such requests are parsed here and answered with one
// corked write of prebuilt bytes; node:http's per-request objects and
// header validation cost more than serving the hit itself (measured in
// docs/benchmarks.md, "Proxy throughput"). The first request this code does
// not fully understand hands the connection, bytes and all, to node:http for
// good, so everything else (misses, bodies, conditionals, ranges, HTTP/1.0,
// Connection: close, oversized or malformed heads) keeps node's behaviour.
import type http from 'node:http';
import type { Socket } from 'node:net';
import { isPlainRequest } from './hit-path';

export type FastAnswer = (
  method: 'GET' | 'HEAD',
  target: string,
  headers: Record<string, string>,
) => readonly Buffer[] | undefined;

export interface FastPathOptions {
  /** The bytes of a complete response (head, then body unless HEAD), or undefined to let node:http handle the request. */
  readonly answer: FastAnswer;
  readonly maxHeaderBytes: number;
  readonly keepAliveTimeoutMs: number;
  /** How long a request head may take from its first byte to its last (node:http's headersTimeout, here). */
  readonly headersTimeoutMs: number;
  /** A connection cut for a head that took too long (counted for /metrics). */
  readonly onHeadTimeout?: () => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** RFC 9110 §15.5.9: the server closes a connection it no longer waits on, and says so. */
const REQUEST_TIMEOUT =
  'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n' +
  'cache-status: Hyperstatic; fwd=bypass; detail=request-timeout\r\n\r\n';
/** Responses queued on one connection before we stop reading its pipelined requests. */
const MAX_UNSENT_BYTES = 1024 * 1024;
const REQUEST_LINE = /^(GET|HEAD) (\/[!-~]*) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Fields that give a request a body, change the connection or ask for something only node:http does. */
const HAND_OVER = new Set([
  'content-length',
  'transfer-encoding',
  'expect',
  'upgrade',
  'http2-settings',
  'te',
  'trailer',
]);

/**
 * Parses one request head (without its final CRLFCRLF) the way the fast
 * path accepts it, or returns undefined for anything it leaves to node:http.
 */
export function parsePlainHead(
  head: string,
): { method: 'GET' | 'HEAD'; target: string; headers: Record<string, string> } | undefined {
  const lines = head.split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0]);
  if (!requestLine) return undefined;
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    // Bare LF or NUL is a smuggling attempt or a broken client: node:http answers 400.
    if (!TOKEN.test(name) || HAND_OVER.has(name) || name in headers || /[\0\n\r]/.test(line)) return undefined;
    headers[name] = line.slice(colon + 1).trim();
  }
  if (headers.host === undefined) return undefined;
  if (headers.connection !== undefined && headers.connection.toLowerCase() !== 'keep-alive') return undefined;
  if (!isPlainRequest(headers)) return undefined;
  return { method: requestLine[1] as 'GET' | 'HEAD', target: requestLine[2], headers };
}

/**
 * Takes over the server's 'connection' event: each new socket starts on the
 * fast path and is passed to node:http's own connection listener the moment
 * a request is not a fresh hit.
 */
export function installFastPath(server: http.Server, options: FastPathOptions): { closeConnections(): void } {
  const [nodeListener] = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeListener('connection', nodeListener);
  // node:http tracks (and closes) only the connections handed to it; these are ours.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveConnection(socket, options, () => {
      sockets.delete(socket);
      nodeListener.call(server, socket);
    });
  });
  return {
    // Every response on the fast path is written whole at once, so these connections are idle.
    closeConnections() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

function serveConnection(socket: Socket, options: FastPathOptions, handOver: () => void): void {
  let pending: Buffer | undefined;
  let handedOver = false;
  socket.setNoDelay(true);
  socket.setTimeout(options.keepAliveTimeoutMs);

  const onTimeout = (): void => {
    socket.destroy();
  };
  const headClock = watchHeads(socket, options, () => socket.off('data', onData));
  const watchHead = (): void => headClock.watch(pending);
  const onError = (): void => {
    socket.destroy();
  };
  // node:http listens with allowHalfOpen: a reader that is done closes its side, and we close ours after
  // the responses already queued, rather than holding the connection (and its address's slot) until idle.
  const onEnd = (): void => {
    socket.end();
  };

  const toNode = (): void => {
    handedOver = true;
    headClock.stop();
    socket.off('data', onData);
    socket.off('drain', onDrain);
    socket.off('timeout', onTimeout);
    socket.off('error', onError);
    socket.off('end', onEnd);
    socket.setTimeout(0);
    const rest = pending;
    pending = undefined;
    handOver();
    // After node:http listens: what we read but did not answer is its first input.
    if (rest !== undefined && rest.length > 0) socket.unshift(rest);
  };

  const onData = (chunk: Buffer): void => {
    pending = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    answerPending();
    if (!handedOver && !socket.destroyed) watchHead();
  };

  const onDrain = (): void => {
    socket.resume();
    answerPending();
    if (!handedOver && !socket.destroyed) watchHead();
  };

  // Answer every complete request in the buffer (pipelining), in order, until
  // the reader stops taking responses: then wait for 'drain' with the socket
  // paused, so a flood of pipelined requests cannot pile responses up in memory.
  // Corked throughout: every answer to one read leaves in one write (one TLS record when it fits).
  const answerPending = (): void => {
    if (pending === undefined) return;
    socket.cork();
    try {
      answerEach();
    } finally {
      socket.uncork();
    }
  };

  const answerEach = (): void => {
    while (pending !== undefined) {
      if (socket.writableLength > MAX_UNSENT_BYTES) {
        socket.pause();
        socket.once('drain', onDrain);
        return;
      }
      const end: number = pending.indexOf(CRLFCRLF);
      if (end === -1) {
        // node:http answers 431 to an oversized head.
        if (pending.length > options.maxHeaderBytes) toNode();
        return;
      }
      const request = end <= options.maxHeaderBytes ? parsePlainHead(pending.toString('latin1', 0, end)) : undefined;
      const response = request && options.answer(request.method, request.target, request.headers);
      if (!response) return toNode();
      pending = end + 4 === pending.length ? undefined : pending.subarray(end + 4);
      // The next head's time starts now.
      headClock.stop();
      for (const part of response) socket.write(part);
    }
  };

  socket.on('data', onData);
  socket.on('timeout', onTimeout);
  socket.on('error', onError);
  socket.once('end', onEnd);
  socket.once('close', headClock.stop);
}

/**
 * The time a request head may take, from its first byte to its last: the
 * idle timeout alone restarts with every byte, so a head sent one byte every
 * few seconds held a connection for ever (issue 19). Past it: 408 and close.
 */
function watchHeads(
  socket: Socket,
  options: FastPathOptions,
  stopReading: () => void,
): { watch(pending: Buffer | undefined): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  const expire = (): void => {
    timer = undefined;
    options.onHeadTimeout?.();
    stopReading();
    socket.resume();
    socket.end(REQUEST_TIMEOUT);
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  return {
    watch(pending) {
      // Whole heads waiting for the reader to take earlier responses are not late: the idle timeout covers them.
      if (pending === undefined || pending.includes(CRLFCRLF)) stop();
      else timer ??= setTimeout(expire, options.headersTimeoutMs);
    },
    stop,
  };
}
