// Real sockets on ephemeral ports for the cache proxy's tests: an upstream
// that counts what reaches it, a proxy with a fake clock, and a bare HTTP
// client that sends exactly the headers it is given.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { loadConfig } from '../../common/config';
import { createLogger, type Logger } from '../../common/logger';
import { startProxy, type RunningProxy } from '../../cache-proxy/main';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestUpstream {
  url: string;
  seen: SeenRequest[];
  /** Requests that reached the upstream for one path (with query). */
  count(url: string): number;
  handle: (req: IncomingMessage & { body: string }, res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function startUpstream(handle: TestUpstream['handle']): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const upstream: TestUpstream = {
    url: '',
    seen,
    count: (url) => seen.filter((r) => r.url === url).length,
    handle,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      upstream.handle(Object.assign(req, { body }), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

/** A port nothing listens on: connections are refused at once. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

export interface TestProxy extends RunningProxy {
  /** The operator listener (/metrics, readiness details): every test proxy has one. */
  readonly internalUrl: string;
  /** Moves the proxy's clock forward. */
  advance(seconds: number): void;
  registry: Registry;
}

export async function startTestProxy(
  upstreams: string[],
  env: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<TestProxy> {
  const config = loadConfig({
    PROXY_PORT: '0',
    PROXY_INTERNAL_PORT: '0',
    PROXY_UPSTREAMS: upstreams.join(','),
    PROXY_FEED_URL: 'off',
    PROXY_ACCESS_LOG: 'false',
    PROXY_UPSTREAM_TIMEOUT_MS: '2000',
    PROXY_MIN_TTL: '0',
    ...env,
  });
  let offset = 0;
  const registry = new Registry();
  const proxy = await startProxy(config, {
    logger: options.logger ?? createLogger('silent', 'cache-proxy-test'),
    registry,
    now: () => Date.now() + offset,
  });
  const { internalUrl } = proxy;
  if (internalUrl === undefined) throw new Error('the test proxy has no operator listener');
  return Object.assign(proxy, {
    internalUrl,
    registry,
    advance(seconds: number) {
      offset += seconds * 1000;
    },
  });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  cacheStatus: string;
}

export function request(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            cacheStatus: String(res.headers['cache-status'] ?? ''),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends a raw request (include `connection: close`), for targets node's client would rewrite. */
export function rawRequest(base: string, head: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(head));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
}

export function httpDate(msAgo: number): string {
  return new Date(Date.now() - msAgo).toUTCString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
