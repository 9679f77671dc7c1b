// What bench/proxy.bench.ts measures and against what: the upstream every
// cache fronts (one 10 KB page, served gzip- or brotli-coded when asked, as
// the producer stores pages), our proxy as a child process (plain, and TLS
// with HTTP/2 when given certificates), and bare node:http as a reference.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { childPids, cpuTracker, rssTracker, type TlsFiles } from './proxy-rivals';

export const PAGE = '/news/2026/bench-article';
export const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');
export const BENCH_ADMIN_TOKEN = 'bench-proxy-admin-token-0123456789';

export interface Contender {
  readonly name: string;
  readonly url: string;
  /** HTTPS with HTTP/2 and HTTP/1.1 by ALPN, when the contender terminates TLS. */
  readonly tlsUrl?: string;
  /** Peak RSS of the serving processes so far, all of them summed, in MiB. */
  rss?: () => number;
  /** CPU seconds its processes have used so far, summed. */
  cpu(): number;
  stop(): Promise<void>;
}

/** A 10 KB article of varied words: it compresses like a real page (~3–4 KB), not like a run of one letter. */
function articleBody(): Buffer {
  const words = ['press', 'mirror', 'editor', 'council', 'river', 'archive', 'budget', 'strike', 'harbour', 'vote'];
  let seed = 7;
  let html = '<!doctype html><html><head><title>Bench article</title></head><body><article>\n';
  while (html.length < 10 * 1024 - 40) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    html += `${words[seed % words.length]}${seed % 97} `;
    if (seed % 13 === 0) html += '</p>\n<p>';
  }
  return Buffer.from(`${html.slice(0, 10 * 1024 - 30)}</article></body></html>\n`);
}

export interface BenchUpstream {
  readonly server: http.Server;
  requests(): number;
  /** Body sizes of each coding, for the table's note. */
  readonly sizes: Record<'identity' | 'gzip' | 'br', number>;
  /** The bodies themselves, for a contender that serves them as files. */
  readonly bodies: Record<'identity' | 'gzip' | 'br', Buffer>;
}

/** The origin: cacheable for an hour, Vary: Accept-Encoding, brotli over gzip over identity. */
export function startUpstream(port: number): Promise<BenchUpstream> {
  const identity = articleBody();
  const variants = {
    identity,
    gzip: zlib.gzipSync(identity, { level: 9 }),
    br: zlib.brotliCompressSync(identity),
  };
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const accepted = String(req.headers['accept-encoding'] ?? '');
    const coding = /\bbr\b/.test(accepted) ? 'br' : /\bgzip\b/.test(accepted) ? 'gzip' : 'identity';
    const body = variants[coding];
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      vary: 'Accept-Encoding',
      ...(coding === 'identity' ? {} : { 'content-encoding': coding }),
      etag: `"bench-1-${coding}"`,
      'last-modified': new Date(Date.now() - 86400_000).toUTCString(),
      'content-length': String(body.length),
    });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        server,
        requests: () => requests,
        sizes: { identity: identity.length, gzip: variants.gzip.length, br: variants.br.length },
        bodies: variants,
      }),
    ),
  );
}

export interface OursOptions {
  readonly port: number;
  readonly upstreamPort: number;
  readonly workers: number;
  readonly cacheBytes: number;
  readonly tls?: TlsFiles & { port: number };
  /** Another version's bin/hyperstatic.js (bench/support/baseline-checkout.ts) and the name its rows get. */
  readonly baseline?: { readonly cli: string; readonly name: string };
}

export function startOurs(options: OursOptions): Contender {
  const { port, upstreamPort, workers, cacheBytes, tls, baseline } = options;
  const child: ChildProcess = spawn(process.execPath, [baseline?.cli ?? CLI, 'proxy'], {
    env: {
      ...process.env,
      PROXY_PORT: String(port),
      PROXY_UPSTREAMS: `http://127.0.0.1:${upstreamPort}`,
      PROXY_WORKERS: String(workers),
      PROXY_FEED_URL: 'off',
      // nginx and Varnish log nothing here either.
      PROXY_ACCESS_LOG: 'false',
      PROXY_CACHE_BYTES: String(cacheBytes),
      // /metrics answers on the public port only with this token (docs/design.md, "Operator endpoints").
      PROXY_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      ...(tls ? { PROXY_TLS_PORT: String(tls.port), PROXY_TLS_CERT: tls.certFile, PROXY_TLS_KEY: tls.keyFile } : {}),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    name: `${baseline?.name ?? 'hyperstatic proxy'} (${workers === 1 ? '1 process' : `${workers} workers`})`,
    url: `http://127.0.0.1:${port}`,
    tlsUrl: tls ? `https://127.0.0.1:${tls.port}` : undefined,
    // VmHWM of every live process of the proxy (primary and workers).
    rss: rssTracker(() => [child.pid!, ...childPids(child.pid!)]),
    cpu: cpuTracker(() => [child.pid!, ...childPids(child.pid!)]),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The issue's reference point: bare node:http answering every request with one prebuilt 10 KB buffer, one process. */
export function startBareNode(port: number): Contender {
  const source = `
    const body = Buffer.alloc(10 * 1024, 'x');
    require('node:http').createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=3600', 'content-length': '10240' });
      res.end(body);
    }).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    name: 'bare node:http, one buffer (reference)',
    url: `http://127.0.0.1:${port}`,
    cpu: cpuTracker(() => [child.pid!]),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function waitForHit(url: string, isHit: (res: Response) => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(url + PAGE);
      await res.arrayBuffer();
      last = `${res.status} ${JSON.stringify(Object.fromEntries(res.headers))}`;
      if (res.status === 200 && isHit(res)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} never served ${PAGE} from its cache (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
