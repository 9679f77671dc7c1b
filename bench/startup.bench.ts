// Start-up time and idle memory of every process, run the way development
// runs it (TypeScript through tsx) and the way production does (the compiled
// build in dist/, NODE_ENV=production): from spawn to answering /healthz, and
// resident memory after a few idle seconds. Modes alternate run by run so a
// change in the machine's load colours both alike.
//   npm run bench -- startup          (HS_BENCH_STARTUP_RUNS=5 by default)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, startMariaDBCluster } from '../test/harness/mariadb';
import { startRedis } from '../test/harness/redis';
import { freePort } from '../test/harness/free-port';
import { percentile, report, type Row } from './report';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'hyperstatic.js');
const RUNS = Number(process.env.HS_BENCH_STARTUP_RUNS ?? 5);
const IDLE_MS = 3000;
const MODES = { tsx: { NODE_ENV: 'development' }, compiled: { NODE_ENV: 'production' } } as const;
type Mode = keyof typeof MODES;

interface Role {
  readonly name: string;
  readonly args: string[];
  /** The port answering /healthz, and the environment that sets it. */
  env(port: number, dir: string): Record<string, string>;
}

async function measure(role: Role, mode: Mode, base: Record<string, string>): Promise<{ ms: number; rssMiB: number }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-startup-'));
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [CLI, ...role.args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...base, ...MODES[mode], ...role.env(port, dir) },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${role.name} (${mode}) exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
    return { ms, rssMiB: rssKiB / 1024 };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function healthy(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/healthz`).then(
      (res) => res.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js')], { stdio: 'inherit' });
  const cluster = await startMariaDBCluster({ replicas: 0 });
  const redis = await startRedis();
  try {
    const db = await createDatabase(cluster, 'startup');
    const base = { DATABASE_URL: db.primaryUrl, REDIS_URL: redis.url, REDIS_PREFIX: db.database };
    execFileSync(process.execPath, [CLI, 'db', 'migrate'], { env: { ...process.env, ...base } });
    const appPort = await freePort();
    const originDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-startup-origin-'));
    const publicKey = path.join(originDir, 'keys', 'feed-ed25519.pub');
    // The mirror and the proxy need something to follow: one app and one mirror stay up for the whole run.
    const origin = spawn(process.execPath, [CLI, 'app'], {
      env: { ...process.env, ...base, LOG_LEVEL: 'warn', APP_PORT: String(appPort), DATA_DIR: originDir },
      stdio: 'ignore',
    });
    const originUrl = `http://127.0.0.1:${appPort}`;
    await healthy(originUrl);
    const mirrorPort = await freePort();
    const upstream = spawn(process.execPath, [CLI, 'mirror'], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        MIRROR_PORT: String(mirrorPort),
        MIRROR_ORIGIN_URLS: originUrl,
        MIRROR_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-startup-mirror-')),
        MIRROR_PUBLIC_KEY: publicKey,
      },
      stdio: 'ignore',
    });
    await healthy(`http://127.0.0.1:${mirrorPort}`);
    const roles: Role[] = [
      {
        name: 'all (embedded)',
        args: ['all'],
        env: (port, dir) => ({
          DATABASE_URL: '',
          REDIS_URL: '',
          DATA_DIR: dir,
          PROXY_PORT: String(port),
          APP_PORT: String(port + 1),
          MIRROR_PORT: String(port + 2),
        }),
      },
      { name: 'app', args: ['app'], env: (port, dir) => ({ APP_PORT: String(port), DATA_DIR: dir }) },
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
      },
      {
        name: 'proxy',
        args: ['proxy'],
        env: (port) => ({ PROXY_PORT: String(port), PROXY_UPSTREAMS: `http://127.0.0.1:${mirrorPort}` }),
      },
    ];
    const rows: Row[] = [];
    const samples: Record<string, Record<Mode, { ms: number[]; rss: number[] }>> = {};
    for (const role of roles) {
      const per: Record<Mode, { ms: number[]; rss: number[] }> = {
        tsx: { ms: [], rss: [] },
        compiled: { ms: [], rss: [] },
      };
      samples[role.name] = per;
      for (let run = 0; run < RUNS; run++) {
        for (const mode of (run % 2 === 0 ? ['tsx', 'compiled'] : ['compiled', 'tsx']) as Mode[]) {
          const { ms, rssMiB } = await measure(role, mode, base);
          per[mode].ms.push(ms);
          per[mode].rss.push(rssMiB);
        }
      }
      for (const mode of ['tsx', 'compiled'] as Mode[]) {
        const { ms, rss } = per[mode];
        rows.push({
          process: role.name,
          mode,
          'start ms (median)': Math.round(percentile(ms, 50)),
          'start ms (min–max)': `${Math.round(Math.min(...ms))}–${Math.round(Math.max(...ms))}`,
          'idle RSS MiB (median)': percentile(rss, 50).toFixed(1),
          'idle RSS MiB (min–max)': `${Math.min(...rss).toFixed(1)}–${Math.max(...rss).toFixed(1)}`,
        });
      }
    }
    origin.kill('SIGKILL');
    upstream.kill('SIGKILL');
    fs.rmSync(originDir, { recursive: true, force: true });
    report(
      'startup',
      `Start-up (spawn to /healthz) and idle RSS after ${IDLE_MS / 1000} s, ${RUNS} runs per mode, load ${os.loadavg()[0].toFixed(1)}`,
      rows,
      { samples },
    );
  } finally {
    await redis.stop();
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
