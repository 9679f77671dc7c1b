// Time from `POST /api/articles` answering to the new article page being
// served by the cache proxy: median (and p90, max) over 20 saves, in the
// embedded mode (one process, SQLite, in-process queue) and in production
// mode (app, producer, mirror and proxy as separate processes on MariaDB
// and Redis). Run: npm run bench -- save-to-reader
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../bin/embedded';
import { createDatabase, startMariaDBCluster } from '../test/harness/mariadb';
import { startRedis } from '../test/harness/redis';
import { freePort } from '../test/harness/free-port';
import { startHyperstatic } from '../test/support/processes';
import { embeddedBenchConfig } from './support/far-site';
import { percentile, report, Row } from './report';

const SAVES = 20;
const CLI = path.join(__dirname, '..', 'bin', 'hyperstatic.js');

async function measure(appBase: string, publicBase: string, token: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAVES; i++) {
    const res = await fetch(`${appBase}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        title: `Bench story ${i} ${Date.now()}`,
        body: '<p>Benchmark body.</p>',
        status: 'published',
      }),
    });
    if (res.status !== 201) throw new Error(`save failed: ${res.status} ${await res.text()}`);
    const answered = performance.now();
    const { url } = (await res.json()) as { url: string };
    for (;;) {
      const page = await fetch(`${publicBase}${url}`);
      await page.arrayBuffer();
      if (page.status === 200) break;
      if (performance.now() - answered > 30_000) throw new Error(`${url} never reached the proxy`);
      await new Promise((r) => setTimeout(r, 2));
    }
    times.push(performance.now() - answered);
    await new Promise((r) => setTimeout(r, 50));
  }
  return times;
}

function row(mode: string, times: number[]): Row {
  return {
    mode,
    saves: times.length,
    'median ms': percentile(times, 50),
    'p90 ms': percentile(times, 90),
    'max ms': Math.max(...times),
  };
}

async function embedded(): Promise<Row> {
  const { config, dataDir } = embeddedBenchConfig('embedded');
  const site = await startEmbedded(config);
  try {
    return row('embedded (SQLite, in-process queue)', await measure(site.appUrl, site.publicUrl, site.adminToken!));
  } finally {
    await site.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function production(): Promise<Row> {
  const [cluster, redis] = await Promise.all([startMariaDBCluster({ replicas: 0 }), startRedis()]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-prod-'));
  const processes = [];
  try {
    const db = await createDatabase(cluster, 'bench');
    const env = {
      DATABASE_URL: db.primaryUrl,
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PROXY_ACCESS_LOG: 'false',
    };
    const run = (args: string[]) =>
      execFileSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } })
        .toString()
        .trim();
    run(['db', 'migrate']);
    run(['seed']);
    const token = run(['token', 'create', '--user', 'admin']);
    const app = await startHyperstatic(['app'], env, { portVariable: 'APP_PORT' });
    processes.push(app);
    processes.push(await startHyperstatic(['producer'], env, { portVariable: 'PRODUCER_PORT' }));
    const mirror = await startHyperstatic(
      ['mirror'],
      { ...env, MIRROR_ORIGIN_URLS: app.url },
      { portVariable: 'MIRROR_PORT' },
    );
    processes.push(mirror);
    const proxy = await startHyperstatic(
      ['proxy'],
      { ...env, PROXY_UPSTREAMS: mirror.url },
      { portVariable: 'PROXY_PORT', port: await freePort() },
    );
    processes.push(proxy);
    return row('production (MariaDB, Redis/bull, 4 processes)', await measure(app.url, proxy.url, token));
  } finally {
    for (const p of processes.reverse()) await p.kill();
    await Promise.all([cluster.stop(), redis.stop()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows = [await embedded(), await production()];
  report('save-to-reader', `Save answered -> new article page served by the cache proxy (${SAVES} saves each)`, rows);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
