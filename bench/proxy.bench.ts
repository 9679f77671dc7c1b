// Cache-hit throughput of our proxy against nginx proxy_cache and Varnish,
// on this machine, in one run: the same upstream, the same 10 KB page (its
// brotli variant: every request says `Accept-Encoding: gzip, br`), the same
// load generator (h2load), in three modes: HTTP/1.1 in the clear, HTTP/1.1
// over TLS and HTTP/2 over TLS (ALPN). nginx terminates TLS itself (http2,
// proxy_cache); Varnish sits behind hitch; a second nginx serves the page as
// a file with its gzip and brotli copies beside it (gzip_static,
// brotli_static), the reference for compressed pages served by a plain web
// server. Runs are interleaved round by
// round (every mode and contender once per round) so background noise hits
// every contender alike. Reports req/s, p50/p99 latency, the ratios the
// issue targets (>= 1.0x nginx in each mode, >= 1.0x Varnish), body bytes
// per response (which coding was served) and peak RSS.
// Run: BENCH_PART=throughput npm run bench -- proxy.bench
// (BENCH_SECONDS=10 BENCH_ROUNDS=2 by default; BENCH_PART=memory runs only
// the memory half, which uses wrk; PROXY_BASELINE_REF=COMMIT adds that
// version of our proxy, one process, as one more contender, for a
// before/after in the same run)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/harness/free-port';
import { createTestCa } from '../test/support/test-certificates';
import { runH2load, type LoadShape } from './support/h2load';
import {
  BENCH_ADMIN_TOKEN,
  PAGE,
  startBareNode,
  startOurs,
  startUpstream,
  waitForHit,
  type BenchUpstream,
  type Contender,
} from './support/proxy-contenders';
import {
  ensureInstalled,
  randomPagesScript,
  runWrk,
  startNginx,
  startNginxStatic,
  startVarnish,
  type LoadResult,
} from './support/proxy-rivals';
import { report, type Row } from './report';
import { checkoutRef, type Checkout } from './support/baseline-checkout';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PART = process.env.BENCH_PART ?? 'all';
const CONNECTIONS = 64;
const CACHE_BYTES = 256 * 1024 * 1024;
const ACCEPT_ENCODING = 'accept-encoding: gzip, br';
const BASELINE_REF = process.env.PROXY_BASELINE_REF;
/** Contenders started before the baseline (ours ×1, ours ×N, nginx, Varnish, bare node, nginx static): the baseline's index. */
const FIRST_BASELINE = 6;

/** One run, with the CPU its contender spent per response. */
type Measured = LoadResult & { readonly cpuUs: number };

interface Mode {
  readonly name: string;
  readonly tls: boolean;
  readonly shape: LoadShape;
}

/** HTTP/1.1: one request in flight per connection. HTTP/2: fewer connections, several streams each, as browsers do. */
const MODES: readonly Mode[] = [
  {
    name: 'HTTP/1.1',
    tls: false,
    shape: { protocol: 'h1', connections: CONNECTIONS, streams: 1, seconds: SECONDS, headers: [ACCEPT_ENCODING] },
  },
  {
    name: 'HTTPS HTTP/1.1',
    tls: true,
    shape: { protocol: 'h1', connections: CONNECTIONS, streams: 1, seconds: SECONDS, headers: [ACCEPT_ENCODING] },
  },
  {
    name: 'HTTPS HTTP/2',
    tls: true,
    shape: { protocol: 'h2', connections: 16, streams: 8, seconds: SECONDS, headers: [ACCEPT_ENCODING] },
  },
];

function shapeText(shape: LoadShape): string {
  return shape.protocol === 'h1' ? `--h1 -c${shape.connections}` : `-c${shape.connections} -m${shape.streams}`;
}

const CHURN_PAGES = 40_000;
const CHURN_CACHE_MIB = [32, 96, 192];

/** One of /metrics' gauges (prom-client's default process metrics included), or NaN. */
function gauge(metrics: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
}

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
  const proxy = startOurs({ port, upstreamPort, workers: 1, cacheBytes: budgetMiB * 1024 * 1024 });
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
  ensureInstalled(
    PART === 'memory'
      ? ['wrk']
      : PART === 'throughput'
        ? ['nginx', 'brotliStatic', 'varnishd', 'hitch', 'h2load']
        : ['nginx', 'brotliStatic', 'varnishd', 'hitch', 'h2load', 'wrk'],
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-proxy-'));
  const upstreamPort = await freePort();
  const upstream = await startUpstream(upstreamPort);
  const contenders: Contender[] = [];
  try {
    if (PART !== 'memory') await throughput(dir, upstream, upstreamPort, contenders);
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

/** Starts every contender, each with its own port pair (plain, TLS); the certificate comes from a CA made for the run. */
async function startContenders(
  dir: string,
  upstream: BenchUpstream,
  upstreamPort: number,
  contenders: Contender[],
  baseline: Checkout | undefined,
): Promise<void> {
  const ca = createTestCa();
  const cert = ca.issue(['localhost', 'bench.test']);
  // Copied into the run's directory, which the unprivileged nginx workers and hitch may read.
  const tlsFiles = { certFile: path.join(dir, 'bench-cert.pem'), keyFile: path.join(dir, 'bench-key.pem') };
  fs.copyFileSync(cert.certFile, tlsFiles.certFile);
  fs.copyFileSync(cert.keyFile, tlsFiles.keyFile);
  ca.remove();
  const port = () => freePort();
  const workers = Math.max(2, os.cpus().length);
  const cacheBytes = CACHE_BYTES;
  contenders.push(
    startOurs({ port: await port(), upstreamPort, workers: 1, cacheBytes, tls: { ...tlsFiles, port: await port() } }),
  );
  contenders.push(
    startOurs({ port: await port(), upstreamPort, workers, cacheBytes, tls: { ...tlsFiles, port: await port() } }),
  );
  contenders.push(startNginx(dir, await port(), upstreamPort, { ...tlsFiles, port: await port() }));
  contenders.push(startVarnish(dir, await port(), upstreamPort, { ...tlsFiles, port: await port() }));
  contenders.push(startBareNode(await port()));
  contenders.push(
    startNginxStatic(dir, await port(), { path: PAGE, ...upstream.bodies }, { ...tlsFiles, port: await port() }),
  );
  if (baseline) {
    const name = `hyperstatic proxy @${baseline.commit.slice(0, 7)}`;
    contenders.push(
      startOurs({
        port: await port(),
        upstreamPort,
        workers: 1,
        cacheBytes,
        tls: { ...tlsFiles, port: await port() },
        baseline: { cli: baseline.cli, name },
      }),
    );
    await waitForHit(contenders[FIRST_BASELINE].url, (res) => /; hit/.test(res.headers.get('cache-status') ?? ''));
  }
  const [ours1, oursN, nginx, varnish, bare, nginxStatic] = contenders;
  await waitForHit(ours1.url, (res) => /; hit/.test(res.headers.get('cache-status') ?? ''));
  await waitForHit(oursN.url, (res) => /; hit/.test(res.headers.get('cache-status') ?? ''));
  await waitForHit(nginx.url, (res) => res.headers.get('x-cache') === 'HIT');
  await waitForHit(varnish.url, (res) => (res.headers.get('x-varnish') ?? '').includes(' '));
  await waitForHit(bare.url, () => true);
  await waitForHit(nginxStatic.url, (res) => res.ok);
}

/** The URL a contender is measured on in a mode, or undefined when it does not take part (bare node: plain only). */
function urlFor(c: Contender, mode: Mode): string | undefined {
  const base = mode.tls ? c.tlsUrl : c.url;
  return base === undefined ? undefined : base + PAGE;
}

async function throughput(
  dir: string,
  upstream: BenchUpstream,
  upstreamPort: number,
  contenders: Contender[],
): Promise<void> {
  const baseline = BASELINE_REF ? checkoutRef(BASELINE_REF) : undefined;
  try {
    await measure(dir, upstream, upstreamPort, contenders, baseline);
  } finally {
    // Its processes stop first: the caller's finally has not run yet, so stop them here.
    if (baseline) {
      for (const c of contenders.splice(FIRST_BASELINE)) await c.stop();
      baseline.remove();
    }
  }
}

async function measure(
  dir: string,
  upstream: BenchUpstream,
  upstreamPort: number,
  contenders: Contender[],
  baseline: Checkout | undefined,
): Promise<void> {
  await startContenders(dir, upstream, upstreamPort, contenders, baseline);
  const [, , nginx, varnish] = contenders;
  // Warm up every contender in every mode (JIT, every worker's cache and its brotli variant, TLS session state).
  for (const mode of MODES)
    for (const c of contenders) {
      const url = urlFor(c, mode);
      if (url) await runH2load(url, { ...mode.shape, seconds: 2 }, dir);
    }
  const warmRequests = upstream.requests();

  const key = (mode: Mode, c: Contender) => `${mode.name}\t${c.name}`;
  const results = new Map<string, Measured[]>();
  const rows: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      for (const c of contenders) {
        const url = urlFor(c, mode);
        if (!url) continue;
        const cpuBefore = c.cpu();
        const result = await runH2load(url, mode.shape, dir);
        // h2load counts responses after its 1 s warm-up; the CPU clock ran through it too.
        const cpuUs = ((c.cpu() - cpuBefore) * 1e6 * SECONDS) / (SECONDS + 1) / result.requests;
        results.set(key(mode, c), [...(results.get(key(mode, c)) ?? []), { ...result, cpuUs }]);
        rows.push({
          round,
          mode: mode.name,
          contender: c.name,
          'req/s': Math.round(result.rps),
          'p50 ms': result.p50ms,
          'p99 ms': result.p99ms,
          'CPU µs/resp': Math.round(cpuUs),
          'body B': result.bodyBytes ?? '',
          errors: result.errors,
        });
      }
    }
  }
  const upstreamDuringRuns = upstream.requests() - warmRequests;
  const summary = summarize(contenders, results, key, nginx, varnish);
  report(
    'proxy',
    `Cache hits of one 10 KB page (Accept-Encoding: gzip, br), h2load -t2 -D${SECONDS} (HTTP/1.1: --h1 -c${CONNECTIONS}; HTTP/2: -c16 -m8), ${ROUNDS} interleaved rounds (${os.cpus().length} cores, shared)`,
    rows,
    {
      summary,
      modes: MODES.map((m) => ({ mode: m.name, load: shapeText(m.shape) })),
      upstreamRequestsDuringRuns: upstreamDuringRuns,
      bodySizes: upstream.sizes,
      cacheBytes: CACHE_BYTES,
      targets: { vsVarnish: 1.0, vsNginx: 1.0 },
    },
  );
  report('proxy-summary', 'Median over rounds, ratios against nginx and Varnish in the same mode and run', summary);
  process.stdout.write(
    `upstream requests during the measured runs: ${upstreamDuringRuns} (every answer came from a cache)\n` +
      `body sizes: identity ${upstream.sizes.identity} B, gzip ${upstream.sizes.gzip} B, br ${upstream.sizes.br} B (Varnish asks its upstream for gzip only)\n` +
      `proxy cache size: ${CACHE_BYTES / 2 ** 20} MiB; peak RSS is per contender over the whole run, all its processes summed\n`,
  );
  const failed = summary.filter((r) => Number(r.errors) > 0);
  if (failed.length > 0)
    throw new Error(`errors under load: ${failed.map((r) => `${r.contender} (${r.mode})`).join(', ')}`);
}

function summarize(
  contenders: Contender[],
  results: Map<string, Measured[]>,
  key: (mode: Mode, c: Contender) => string,
  nginx: Contender,
  varnish: Contender,
): Row[] {
  const summary: Row[] = [];
  for (const mode of MODES) {
    const med = (c: Contender) => median((results.get(key(mode, c)) ?? []).map((r) => r.rps));
    const medCpu = (c: Contender) => median((results.get(key(mode, c)) ?? []).map((r) => r.cpuUs));
    for (const c of contenders) {
      const runs = results.get(key(mode, c));
      if (!runs) continue;
      summary.push({
        mode: mode.name,
        contender: c.name,
        'median req/s': Math.round(med(c)),
        'x nginx': med(c) / med(nginx),
        'x varnish': med(c) / med(varnish),
        'p50 ms': median(runs.map((r) => r.p50ms)),
        'p99 ms': median(runs.map((r) => r.p99ms)),
        'CPU µs/resp': Math.round(median(runs.map((r) => r.cpuUs))),
        'x nginx CPU': median(runs.map((r) => r.cpuUs)) / medCpu(nginx),
        'body B': runs[0].bodyBytes ?? '',
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        'peak RSS MiB': c.rss ? Math.round(c.rss()) : '',
      });
    }
  }
  return summary;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
