// A cap on the connections one client address may hold open
// (PROXY_MAX_CONNECTIONS_PER_ADDRESS): one host opening thousands of idle
// or trickling connections must not take every file descriptor and every
// slot from the readers behind it. The excess is refused at once, before a
// byte is parsed: on plain HTTP with a 429 (RFC 6585 §4) and Retry-After,
// on TLS by closing (nothing may be written before the handshake).
import type { Server, Socket } from 'node:net';

export interface ConnectionLimitOptions {
  /** Open connections allowed per client address; 0 means no limit. */
  readonly perAddress: number;
  /** 'http': answer the refused connection 429; 'close': just close it (TLS listeners). */
  readonly refusal: 'http' | 'close';
  /** Counted for /metrics. */
  readonly onRefused?: () => void;
}

const TOO_MANY_BODY = 'Too many connections from your address; try again shortly.\n';
const TOO_MANY =
  'HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n' +
  `content-length: ${TOO_MANY_BODY.length}\r\nretry-after: 5\r\ncache-control: no-store\r\n` +
  `cache-status: Hyperstatic; fwd=bypass; detail=too-many-connections\r\n\r\n${TOO_MANY_BODY}`;

/** An IPv4 client seen through a dual-stack socket counts as the same address as over IPv4. */
export function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Puts the cap in front of whatever already listens for connections on the
 * server (node:http's parser, the fast path, TLS): call it after they are
 * installed. Returns how many connections each address holds, for tests.
 */
export function limitConnectionsPerAddress(server: Server, options: ConnectionLimitOptions): Map<string, number> {
  const open = new Map<string, number>();
  if (options.perAddress <= 0) return open;
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = clientAddress(socket);
    const held = open.get(address) ?? 0;
    if (held >= options.perAddress) {
      options.onRefused?.();
      refuse(socket, options.refusal);
      return;
    }
    open.set(address, held + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
    for (const listener of listeners) listener.call(server, socket);
  });
  return open;
}

function refuse(socket: Socket, refusal: ConnectionLimitOptions['refusal']): void {
  socket.on('error', () => undefined);
  if (refusal === 'close') {
    socket.destroy();
    return;
  }
  // Read and drop what the client sends meanwhile, so closing does not turn into a reset before it reads the 429.
  socket.resume();
  socket.end(TOO_MANY);
  setTimeout(() => socket.destroy(), 1000).unref();
}
