// Cache-hit throughput of our proxy against nginx proxy_cache and Varnish,
// on this machine, in one run: the same upstream, the same 10 KB page, the
// same load generator (wrk, 2 threads, 64 connections), runs interleaved
// round by round so background noise hits every contender alike. Reports
// req/s, p50/p99 latency, the ratios the issue targets (>= 1.0x Varnish,
// >= 0.6x nginx) and the proxy's peak RSS.
// Run: npm run bench -- proxy   (BENCH_SECONDS=10 BENCH_ROUNDS=2 by default;
// BENCH_PART=throughput or BENCH_PART=memory runs only that half)
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/harness/free-port';
import {
  childPids,
  ensureInstalled,
  peakRssMiB,
  randomPagesScript,
  runWrk,
  startNginx,
  startVarnish,
  type LoadResult,
} from './support/proxy-rivals';
import { report, type Row } from './report';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PART = process.env.BENCH_PART ?? 'all';
const CONNECTIONS = 64;
const CLI = path.join(__dirname, '..', 'bin', 'hyperstatic.js');
const PAGE = '/news/2026/bench-article';
const CACHE_BYTES = 256 * 1024 * 1024;

interface Contender {
  readonly name: string;
  readonly url: string;
  /** Peak RSS of the serving processes so far, in MiB (ours only). */
  rss?: () => number;
  stop(): Promise<void>;
}

function startUpstream(port: number): Promise<{ server: http.Server; requests: () => number }> {
  const body = Buffer.alloc(10 * 1024, '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n');
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      etag: '"bench-1"',
      'last-modified': new Date(Date.now() - 86400_000).toUTCString(),
      'content-length': String(body.length),
    });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve({ server, requests: () => requests })),
  );
}

async function startOurs(
  port: number,
  upstreamPort: number,
  workers: number,
  cacheBytes = CACHE_BYTES,
): Promise<Contender> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'proxy'], {
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
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pids = () => [child.pid!, ...childPids(child.pid!)];
  const peaks = new Map<number, number>();
  return {
    name: workers === 1 ? 'hyperstatic proxy (1 process)' : `hyperstatic proxy (${workers} workers)`,
    url: `http://127.0.0.1:${port}`,
    rss() {
      // VmHWM of every live process of the proxy (primary and workers; not tsx's esbuild helper, which serves nothing).
      for (const pid of pids()) {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!cmd.includes('esbuild')) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, peakRssMiB(pid)));
      }
      return [...peaks.values()].reduce((a, b) => a + b, 0);
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The reference point: bare node:http answering every request with one prebuilt 10 KB buffer, one process. */
function startBareNode(port: number): Contender {
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
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function waitForHit(url: string, isHit: (res: Response) => boolean): Promise<void> {
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

const CHURN_PAGES = 40_000;
const CHURN_CACHE_MIB = [32, 96, 192];

/** One of /metrics' gauges (prom-client's default process metrics included), or NaN. */
function gauge(metrics: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
}

const BENCH_ADMIN_TOKEN = 'bench-proxy-admin-token-0123456789';

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })).text();
}

/** Fills the cache to its budget with distinct pages (8 at a time), so the churn run starts from a full cache. */
async function fill(url: string, budgetBytes: number): Promise<void> {
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next <= CHURN_PAGES) {
      const page = next++;
      await (await fetch(`${url}/pages/${page}`)).arrayBuffer();
      if (page % 500 === 0 && gauge(await scrape(url), 'hyperstatic_proxy_cache_bytes') >= budgetBytes * 0.97)
        next = CHURN_PAGES + 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * RSS bound: a cache under a working set larger than itself (40,000 distinct
 * 10 KB pages), filled first, then churned by wrk. Peak RSS minus the budget
 * is the overhead; it must not grow with the budget. /metrics is sampled
 * during the run for where the memory is (V8 heap vs buffers outside it).
 */
async function memoryUnderChurn(dir: string, upstreamPort: number, budgetMiB: number): Promise<Row> {
  const port = await freePort();
  const proxy = await startOurs(port, upstreamPort, 1, budgetMiB * 1024 * 1024);
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  try {
    await waitForHit(proxy.url, (res) => /; hit/.test(res.headers.get('cache-status') ?? ''));
    const idle = proxy.rss!();
    await fill(proxy.url, budgetMiB * 1024 * 1024);
    const peaks = { heap: 0, external: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const metrics = await scrape(proxy.url);
        peaks.heap = Math.max(peaks.heap, gauge(metrics, 'nodejs_heap_size_total_bytes'));
        peaks.external = Math.max(peaks.external, gauge(metrics, 'nodejs_external_memory_bytes'));
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const result = await runWrk(proxy.url + '/', SECONDS, CONNECTIONS, randomPagesScript(dir, CHURN_PAGES));
    sampling = false;
    await sampler;
    const peak = proxy.rss!();
    const cached = gauge(await scrape(proxy.url), 'hyperstatic_proxy_cache_bytes');
    return {
      'cache budget MiB': budgetMiB,
      'cache held MiB': mib(cached),
      'RSS idle MiB': Math.round(idle),
      'peak RSS MiB': Math.round(peak),
      'peak - budget MiB': Math.round(peak - budgetMiB),
      'peak V8 heap MiB': mib(peaks.heap),
      'peak external (buffers) MiB': mib(peaks.external),
      'req/s': Math.round(result.rps),
      errors: result.errors,
    };
  } finally {
    await proxy.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  ensureInstalled();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-proxy-'));
  const workers = Math.max(2, os.cpus().length);
  const [upstreamPort, ours1Port, oursNPort, nginxPort, varnishPort, barePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const upstream = await startUpstream(upstreamPort);
  const contenders: Contender[] = [];
  try {
    if (PART !== 'memory')
      await throughput(dir, workers, upstream, contenders, {
        ours1Port,
        oursNPort,
        nginxPort,
        varnishPort,
        barePort,
        upstreamPort,
      });
    if (PART !== 'throughput') {
      // Three budgets: what stays the same between them is the fixed overhead.
      const memory: Row[] = [];
      for (const mib of CHURN_CACHE_MIB) memory.push(await memoryUnderChurn(dir, upstreamPort, mib));
      const overheads = memory.map((row) => Number(row['peak - budget MiB']));
      process.stdout.write(
        `overhead above the cache budget: ${Math.min(...overheads)}..${Math.max(...overheads)} MiB across budgets ${CHURN_CACHE_MIB.join(', ')} MiB\n`,
      );
      report(
        'proxy-memory',
        `Peak RSS while ${CHURN_PAGES} distinct 10 KB pages (${Math.round((CHURN_PAGES * 10) / 1024)} MiB) churn through a full cache, wrk -c${CONNECTIONS} -d${SECONDS}s, one process`,
        memory,
      );
    }
  } finally {
    for (const c of contenders) await c.stop();
    await new Promise((resolve) => upstream.server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function throughput(
  dir: string,
  workers: number,
  upstream: { requests: () => number },
  contenders: Contender[],
  ports: {
    ours1Port: number;
    oursNPort: number;
    nginxPort: number;
    varnishPort: number;
    barePort: number;
    upstreamPort: number;
  },
): Promise<void> {
  const { ours1Port, oursNPort, nginxPort, varnishPort, barePort, upstreamPort } = ports;
  contenders.push(await startOurs(ours1Port, upstreamPort, 1));
  contenders.push(await startOurs(oursNPort, upstreamPort, workers));
  contenders.push(startNginx(dir, nginxPort, upstreamPort));
  contenders.push(startVarnish(dir, varnishPort, upstreamPort));
  contenders.push(startBareNode(barePort));
  const [ours1, oursN, nginx, varnish, bare] = contenders;
  await waitForHit(ours1.url, (res) => /; hit/.test(res.headers.get('cache-status') ?? ''));
  await waitForHit(oursN.url, (res) => /; hit/.test(res.headers.get('cache-status') ?? ''));
  await waitForHit(nginx.url, (res) => res.headers.get('x-cache') === 'HIT');
  await waitForHit(varnish.url, (res) => (res.headers.get('x-varnish') ?? '').includes(' '));
  await waitForHit(bare.url, () => true);
  // Warm up every contender (JIT, every worker's cache, thread pools) before anything is measured.
  for (const c of contenders) await runWrk(c.url + PAGE, 2, CONNECTIONS);
  const warmRequests = upstream.requests();

  const results = new Map<string, LoadResult[]>(contenders.map((c) => [c.name, []]));
  const rows: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of contenders) {
      const result = await runWrk(c.url + PAGE, SECONDS, CONNECTIONS);
      results.get(c.name)!.push(result);
      rows.push({
        round,
        contender: c.name,
        'req/s': Math.round(result.rps),
        'p50 ms': result.p50ms,
        'p99 ms': result.p99ms,
        errors: result.errors,
        'peak RSS MiB': c.rss ? Math.round(c.rss()) : '',
      });
    }
  }
  const upstreamDuringRuns = upstream.requests() - warmRequests;

  const med = (c: Contender) => median(results.get(c.name)!.map((r) => r.rps));
  const summary: Row[] = contenders.map((c) => ({
    contender: c.name,
    'median req/s': Math.round(med(c)),
    'x varnish': med(c) / med(varnish),
    'x nginx': med(c) / med(nginx),
    'p50 ms': median(results.get(c.name)!.map((r) => r.p50ms)),
    'p99 ms': median(results.get(c.name)!.map((r) => r.p99ms)),
    errors: results.get(c.name)!.reduce((sum, r) => sum + r.errors, 0),
    'peak RSS MiB': c.rss ? Math.round(c.rss()) : '',
  }));
  report(
    'proxy',
    `Cache hits of one 10 KB page, wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, ${ROUNDS} interleaved rounds (${os.cpus().length} cores, shared)`,
    rows,
    {
      summary,
      upstreamRequestsDuringRuns: upstreamDuringRuns,
      cacheBytes: CACHE_BYTES,
      targets: { vsVarnish: 1.0, vsNginx: 0.6 },
    },
  );
  report('proxy-summary', 'Median over rounds, ratios against the other caches measured in the same run', summary);
  process.stdout.write(
    `upstream requests during the measured runs: ${upstreamDuringRuns} (every answer came from a cache)\n`,
  );
  process.stdout.write(
    `proxy cache size: ${CACHE_BYTES / 2 ** 20} MiB; peak RSS above is per contender, all its processes summed\n`,
  );
  const failed = summary.filter((r) => Number(r.errors) > 0);
  if (failed.length > 0) throw new Error(`errors under load: ${failed.map((r) => r.contender).join(', ')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
