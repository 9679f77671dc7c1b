// Full rebuild throughput on MariaDB: generate a site of N articles, then
// run `hyperstatic rebuild` as its own process (so its peak RSS is its own)
// twice: cold (every page is new) and warm (nothing changed, nothing
// journaled). Sizes: HS_BENCH_REBUILD_SIZES (default 10000,100000).
// Target (issue 3): >= 3000 pages/s, peak RSS <= 300 MB.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createDatabase as createKnex } from '../common/database';
import { migrateLatest } from '../app/db/migrate';
import { generateSite } from '../fixtures/generate';
import { createDatabase, startMariaDBCluster } from '../test/harness/mariadb';
import { report, Row } from './report';

const ROOT = path.resolve(__dirname, '..');

export interface RebuildRun {
  pages: number;
  written: number;
  seconds: number;
  pagesPerSecond: number;
  peakRssMb: number;
  phases: Record<string, { seconds: number; pages: number }>;
}

/** Pages/s over some phases of a run: the item pages, or the listings (archives, roots, feeds, sitemaps). */
function rateOf(run: RebuildRun, phases: string[]): number {
  const sum = phases.reduce((acc, p) => ({ seconds: acc.seconds + (run.phases[p]?.seconds ?? 0), pages: acc.pages + (run.phases[p]?.pages ?? 0) }), { seconds: 0, pages: 0 });
  return sum.seconds > 0 ? Math.round(sum.pages / sum.seconds) : 0;
}

export function runRebuild(databaseUrl: string, args: string[] = []): Promise<RebuildRun> {
  return new Promise((resolve, reject) => {
    // HS_BENCH_NODE_ARGS: extra node flags for the rebuild process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.HS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'bin/hyperstatic.js'), 'rebuild', '--json', ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`rebuild exited with ${code}: ${out}`));
      resolve(JSON.parse(last) as RebuildRun);
    });
  });
}

/** Bench-only server settings: a buffer pool that holds the working set, group commit without fsync per batch. */
export async function tuneForBench(query: (sql: string) => Promise<unknown>): Promise<string[]> {
  const settings = ['innodb_buffer_pool_size = 1073741824', 'innodb_flush_log_at_trx_commit = 2', 'sync_binlog = 0', 'innodb_log_file_size = 536870912'];
  for (const s of settings) await query(`SET GLOBAL ${s}`);
  return settings;
}

async function main(): Promise<void> {
  const sizes = (process.env.HS_BENCH_REBUILD_SIZES ?? '10000,100000').split(',').map(Number);
  const cluster = await startMariaDBCluster({ replicas: 0 });
  const rows: Row[] = [];
  try {
    const settings = await tuneForBench((sql) => cluster.primary.query(sql));
    for (const size of sizes) {
      const target = await createDatabase(cluster, `rebuild${size}`);
      const db = createKnex(target.primaryUrl);
      await migrateLatest(db);
      const t0 = Date.now();
      const generated = await generateSite(db, { articles: size, seed: 42 });
      const generateSeconds = (Date.now() - t0) / 1000;
      await db.destroy();
      process.stdout.write(`generated ${size} articles + ${generated.events} events in ${generateSeconds.toFixed(1)} s\n`);
      for (const kind of ['cold', 'warm'] as const) {
        const run = await runRebuild(target.primaryUrl, kind === 'warm' ? ['--restart'] : []);
        rows.push({
          articles: size, rebuild: kind, pages: run.pages, journaled: run.written, seconds: run.seconds,
          'pages/s': Math.round(run.pagesPerSecond),
          'item pages/s': rateOf(run, ['articles', 'events', 'sweep']), 'listing pages/s': rateOf(run, ['buckets', 'indexes', 'site']),
          'peak RSS MB': Math.round(run.peakRssMb),
          target: run.pagesPerSecond >= 3000 && run.peakRssMb <= 300 ? 'met' : 'MISSED',
        });
        process.stdout.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
      }
      await target.drop();
    }
    report('rebuild', 'Full rebuild on MariaDB (`npm run bench -- rebuild`); target >= 3000 pages/s, <= 300 MB peak RSS', rows, { serverSettings: settings });
  } finally {
    await cluster.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
