// A fault-injecting TCP link for tests: listens on port 0 and forwards to a
// target, adding one-way latency, cutting and resuming, and tampering with
// bytes in flight, so one machine can hold mirrors that are "far away"
// behind bad networks. Byte-level only: it knows nothing of HTTP, which is
// the point (a man in the middle does not play by the protocol either).
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type Direction = 'up' | 'down';

/** Rewrites a chunk in flight (same length keeps HTTP chunk framing intact); return it unchanged to pass. */
export type Tamper = (chunk: Buffer, direction: Direction) => Buffer;

export interface FaultyLink {
  /** `http://127.0.0.1:PORT`: point the client here instead of at the target. */
  readonly url: string;
  readonly port: number;
  /** One-way delay added to every chunk in both directions, in ms (so a round trip costs twice this). */
  latencyMs: number;
  /**
   * Cuts the link. `reset` destroys open connections and refuses new ones
   * (a crashed router); `blackhole` keeps sockets open but delivers nothing
   * (a silent partition: only timeouts notice).
   */
  cut(mode?: 'reset' | 'blackhole'): void;
  /** Heals the link; held (blackholed) bytes are dropped, as a real partition would lose them. */
  resume(): void;
  readonly isCut: boolean;
  /** Installs a tamper hook until it is removed with `tamper(undefined)`. */
  tamper(fn: Tamper | undefined): void;
  /**
   * Replaces the first occurrence of `search` (within one chunk) flowing in
   * `direction` with `replacement` of the same length, once; resolves when done.
   */
  replaceOnce(direction: Direction, search: Buffer | string, replacement: Buffer | string): Promise<void>;
  /** Bytes forwarded per direction, for assertions. */
  readonly bytes: { up: number; down: number };
  readonly connections: number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
}

export async function startFaultyLink(
  target: { host?: string; port: number } | string,
  options: { latencyMs?: number } = {},
): Promise<FaultyLink> {
  const to =
    typeof target === 'string'
      ? { host: new URL(target).hostname, port: Number(new URL(target).port) }
      : { host: target.host ?? '127.0.0.1', port: target.port };
  const pairs = new Set<Pair>();
  let mode: 'open' | 'reset' | 'blackhole' = 'open';
  let latencyMs = options.latencyMs ?? 0;
  let hook: Tamper | undefined;
  const once: { direction: Direction; search: Buffer; replacement: Buffer; done: () => void }[] = [];
  const bytes = { up: 0, down: 0 };

  function transform(chunk: Buffer, direction: Direction): Buffer {
    let out = hook ? hook(chunk, direction) : chunk;
    for (let i = 0; i < once.length; i++) {
      const r = once[i];
      if (r.direction !== direction) continue;
      const at = out.indexOf(r.search);
      if (at === -1) continue;
      out = Buffer.from(out);
      r.replacement.copy(out, at);
      once.splice(i, 1);
      i -= 1;
      r.done();
    }
    return out;
  }

  /** Forwards `from` → `to` with the link's delay, preserving order. */
  function pipe(from: net.Socket, toSocket: net.Socket, direction: Direction): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole') return;
      const delay = latencyMs;
      const due = Date.now() + delay;
      chain = chain.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (mode === 'blackhole' || toSocket.destroyed) return;
        const out = transform(chunk, direction);
        bytes[direction] += out.length;
        toSocket.write(out);
      });
    });
    from.on('end', () => {
      chain = chain.then(() => {
        if (!toSocket.destroyed) toSocket.end();
      });
    });
  }

  const server = net.createServer((client) => {
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect(to.port, to.host);
    upstream.setNoDelay(true);
    const pair: Pair = { client, server: upstream };
    pairs.add(pair);
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    pipe(client, upstream, 'up');
    pipe(upstream, client, 'down');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get latencyMs() {
      return latencyMs;
    },
    set latencyMs(value: number) {
      latencyMs = value;
    },
    get isCut() {
      return mode !== 'open';
    },
    get connections() {
      return pairs.size;
    },
    bytes,
    cut(cutMode = 'reset') {
      mode = cutMode;
      if (cutMode === 'reset') {
        for (const p of pairs) {
          p.client.resetAndDestroy();
          p.server.destroy();
        }
        pairs.clear();
      }
    },
    resume() {
      if (mode === 'blackhole') {
        // A partition that heals does not deliver what it swallowed: those connections are dead.
        for (const p of pairs) {
          p.client.resetAndDestroy();
          p.server.destroy();
        }
        pairs.clear();
      }
      mode = 'open';
    },
    tamper(fn) {
      hook = fn;
    },
    replaceOnce(direction, search, replacement) {
      const s = Buffer.from(search);
      const r = Buffer.from(replacement);
      if (s.length !== r.length || s.length === 0)
        throw new Error('replaceOnce needs a non-empty replacement of the same length');
      return new Promise<void>((resolve) => once.push({ direction, search: s, replacement: r, done: resolve }));
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
