// One side of the burst bench (bench/burst.bench.ts): a production-mode site
// run from a given checkout's launcher: the app and N producers as separate
// processes on a MariaDB primary (with a replica) and Redis, and three
// mirrors, each reaching the app through its own fault-injecting link
// (test/support/faulty-link.ts, 0 ms). The bench process reads the database
// and every process's /metrics to time and count what a burst costs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase as connect, Database } from '../../common/db/database';
import { freePort } from '../../test/harness/free-port';
import { createDatabase, type Cluster } from '../../test/harness/mariadb';
import { startFaultyLink, type FaultyLink } from '../../test/support/faulty-link';
import { HyperstaticProcess, startHyperstatic } from '../../test/support/processes';

export interface BurstSite {
  readonly db: Database;
  readonly app: HyperstaticProcess;
  readonly producers: HyperstaticProcess[];
  /** Each mirror's public URL and its operator listener (for /metrics). */
  readonly mirrors: { url: string; internalUrl: string }[];
  readonly token: string;
  addProducer(): Promise<void>;
  close(): Promise<void>;
}

/** Sums one metric's samples in a Prometheus text exposition. */
export function sample(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

export async function metricOf(url: string, name: string): Promise<number> {
  return sample(await (await fetch(`${url}/metrics`)).text(), name);
}

export async function startBurstSite(options: {
  label: string;
  cli: string;
  cluster: Cluster;
  redisUrl: string;
  producers: number;
}): Promise<BurstSite> {
  const { cli, cluster } = options;
  const database = await createDatabase(cluster, `burst_${options.label}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `hs-bench-burst-${options.label}-`));
  const env = {
    DATABASE_URL: database.primaryUrl,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: database.database,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  const run = (args: string[]) =>
    execFileSync(process.execPath, [cli, ...args], { env: { ...process.env, ...env } })
      .toString()
      .trim();
  run(['db', 'migrate']);
  run(['seed']);
  const token = run(['token', 'create', '--user', 'admin']);
  const processes: HyperstaticProcess[] = [];
  const links: FaultyLink[] = [];
  const db = connect(database.primaryUrl, { poolMax: 2 });
  try {
    const app = await startHyperstatic(['app'], env, { portVariable: 'APP_PORT', cli });
    processes.push(app);
    const producers: HyperstaticProcess[] = [];
    const addProducer = async () => {
      const producer = await startHyperstatic(['producer'], env, { portVariable: 'PRODUCER_PORT', cli });
      processes.push(producer);
      producers.push(producer);
    };
    for (let i = 0; i < options.producers; i++) await addProducer();
    const mirrors: BurstSite['mirrors'] = [];
    for (let i = 0; i < 3; i++) {
      const link = await startFaultyLink(app.url, { latencyMs: 0 });
      links.push(link);
      const internalPort = await freePort();
      const mirror = await startHyperstatic(
        ['mirror'],
        {
          ...env,
          MIRROR_DATA_DIR: path.join(dataDir, `mirror-${i}`),
          MIRROR_ORIGIN_URLS: link.url,
          MIRROR_PUBLIC_KEY: path.join(dataDir, 'keys', 'feed-ed25519.pub'),
          MIRROR_INTERNAL_PORT: String(internalPort),
          MIRROR_STATUS_INTERVAL_MS: '0',
        },
        { portVariable: 'MIRROR_PORT', cli },
      );
      processes.push(mirror);
      mirrors.push({ url: mirror.url, internalUrl: `http://127.0.0.1:${internalPort}` });
    }
    return {
      db,
      app,
      producers,
      mirrors,
      token,
      addProducer,
      async close() {
        for (const p of processes.reverse()) await p.kill();
        for (const l of links) await l.close();
        await db.destroy();
        await database.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const p of processes.reverse()) await p.kill();
    for (const l of links) await l.close();
    await db.destroy();
    throw error;
  }
}
