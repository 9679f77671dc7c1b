// Shutdown time of every process role, run as production runs it (the
// compiled build, NODE_ENV=production): from SIGTERM to the process's exit,
// with one reader connection kept alive (and, for the app, a feed stream
// open). The reference is a bare node process holding one kept-alive HTTP
// connection, stopped the same way in the same run: what no role can beat.
//   npm run bench -- shutdown          (HS_BENCH_SHUTDOWN_RUNS=5 by default)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, startMariaDBCluster } from '../test/harness/mariadb';
import { startRedis } from '../test/harness/redis';
import { freePort } from '../test/harness/free-port';
import { percentile, report, type Row } from './report';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'hyperstatic.js');
const RUNS = Number(process.env.HS_BENCH_SHUTDOWN_RUNS ?? 5);
/** The bare reference: a listener that closes its idle connections on SIGTERM. */
const REFERENCE = `const s=require('http').createServer((q,r)=>r.end('ok')).listen(+process.env.PORT);
process.once('SIGTERM',()=>{s.close();s.closeIdleConnections();});`;

interface Role {
  readonly name: string;
  readonly args: string[];
  env(port: number, dir: string): Record<string, string>;
  /** Something a reader or a mirror holds open at SIGTERM, beside the kept-alive connection. */
  readonly stream?: string;
}

function request(url: string, agent: http.Agent, headers: http.OutgoingHttpHeaders = {}): Promise<void> {
  return new Promise((resolve) => {
    http
      .get(url, { agent, headers }, (res) => {
        res.resume();
        // A stream stays open: resolve once its head arrived.
        if (headers.accept === 'text/event-stream') resolve();
        else res.once('end', () => resolve());
        res.once('error', () => resolve());
      })
      .once('error', () => resolve());
  });
}

async function healthy(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    ))
  ) {
    if (exited()) throw new Error(`${url} exited before answering /healthz`);
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts the role, opens a kept-alive connection (and its stream), sends SIGTERM: the ms to exit, and the code. */
async function measure(command: string[], env: Record<string, string>, port: number, stream?: string) {
  const child = spawn(process.execPath, command, {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const agent = new http.Agent({ keepAlive: true });
  try {
    const url = `http://127.0.0.1:${port}`;
    await healthy(url, () => child.exitCode !== null);
    await request(`${url}/healthz`, agent);
    if (stream) await request(`${url}${stream}`, new http.Agent(), { accept: 'text/event-stream' });
    const started = process.hrtime.bigint();
    child.kill('SIGTERM');
    const code = await exited;
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, code };
  } finally {
    agent.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { stdio: 'inherit' });
  const cluster = await startMariaDBCluster({ replicas: 0 });
  const redis = await startRedis();
  const dirs: string[] = [];
  const tmp = (name: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hs-bench-shutdown-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const keep: ReturnType<typeof spawn>[] = [];
  try {
    const db = await createDatabase(cluster, 'shutdown');
    const base = {
      DATABASE_URL: db.primaryUrl,
      REDIS_URL: redis.url,
      REDIS_PREFIX: db.database,
      NODE_ENV: 'production',
    };
    execFileSync(process.execPath, [CLI, 'db', 'migrate'], { env: { ...process.env, ...base } });
    // The mirror and the proxy need something to follow: one app and one mirror stay up for the whole run.
    const originDir = tmp('origin');
    const [appPort, mirrorPort] = [await freePort(), await freePort()];
    const originUrl = `http://127.0.0.1:${appPort}`;
    const publicKey = path.join(originDir, 'keys', 'feed-ed25519.pub');
    keep.push(
      spawn(process.execPath, [CLI, 'app'], {
        env: { ...process.env, ...base, LOG_LEVEL: 'warn', APP_PORT: String(appPort), DATA_DIR: originDir },
        stdio: 'ignore',
      }),
    );
    await healthy(originUrl, () => false);
    keep.push(
      spawn(process.execPath, [CLI, 'mirror'], {
        env: {
          ...process.env,
          ...base,
          LOG_LEVEL: 'warn',
          MIRROR_PORT: String(mirrorPort),
          MIRROR_ORIGIN_URLS: originUrl,
          MIRROR_DATA_DIR: tmp('mirror'),
          MIRROR_PUBLIC_KEY: publicKey,
        },
        stdio: 'ignore',
      }),
    );
    await healthy(`http://127.0.0.1:${mirrorPort}`, () => false);

    const roles: Role[] = [
      { name: 'app', args: ['app'], env: (port, dir) => ({ APP_PORT: String(port), DATA_DIR: dir }), stream: '/feed' },
      { name: 'producer', args: ['producer'], env: (port, dir) => ({ PRODUCER_PORT: String(port), DATA_DIR: dir }) },
      {
        name: 'mirror',
        args: ['mirror'],
        env: (port, dir) => ({
          MIRROR_PORT: String(port),
          MIRROR_ORIGIN_URLS: originUrl,
          MIRROR_DATA_DIR: dir,
          MIRROR_PUBLIC_KEY: publicKey,
        }),
        stream: '/feed',
      },
      {
        name: 'proxy',
        args: ['proxy'],
        env: (port) => ({ PROXY_PORT: String(port), PROXY_UPSTREAMS: `http://127.0.0.1:${mirrorPort}` }),
      },
      {
        name: 'all (embedded)',
        args: ['all'],
        env: (port, dir) => ({
          DATABASE_URL: '',
          REDIS_URL: '',
          DATA_DIR: dir,
          PROXY_PORT: String(port),
          APP_PORT: '0',
          MIRROR_PORT: '0',
        }),
      },
    ];

    const samples: Record<string, number[]> = { reference: [] };
    const codes: Record<string, (number | null)[]> = { reference: [] };
    for (let run = 0; run < RUNS; run++) {
      const port = await freePort();
      const r = await measure(['-e', REFERENCE], { PORT: String(port) }, port);
      samples.reference.push(r.ms);
      codes.reference.push(r.code);
      for (const role of roles) {
        const rolePort = await freePort();
        const result = await measure(
          [CLI, ...role.args],
          { ...base, ...role.env(rolePort, tmp(role.name)) },
          rolePort,
          role.stream,
        );
        (samples[role.name] ??= []).push(result.ms);
        (codes[role.name] ??= []).push(result.code);
      }
    }
    const reference = percentile(samples.reference, 50);
    const rows: Row[] = Object.entries(samples).map(([name, ms]) => ({
      process: name,
      'ms to exit (p50)': Math.round(percentile(ms, 50)),
      'ms to exit (max)': Math.round(Math.max(...ms)),
      'p50 / reference': (percentile(ms, 50) / reference).toFixed(1),
      'exit codes': [...new Set(codes[name])].join(','),
    }));
    report(
      'shutdown',
      `SIGTERM to exit (compiled build), a kept-alive connection open, ${RUNS} runs, load ${os.loadavg()[0].toFixed(1)}`,
      rows,
      { samples, codes },
    );
  } finally {
    for (const child of keep) child.kill('SIGKILL');
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    await redis.stop();
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
