// Full rebuild throughput on MariaDB: generate a site of N articles, then
// run `hyperstatic rebuild` as its own process (so its peak RSS is its own)
// twice: cold (every page is new) and warm (nothing changed, nothing
// journaled). Sizes: HS_BENCH_REBUILD_SIZES (default 10000,100000); sites
// per size: HS_BENCH_REBUILD_REPEAT (default 3).
// Target (issue 3): >= 3000 pages/s, peak RSS <= 300 MB.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createDatabase as createKnex } from '../common/db/database';
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
  const sum = phases.reduce(
    (acc, p) => ({
      seconds: acc.seconds + (run.phases[p]?.seconds ?? 0),
      pages: acc.pages + (run.phases[p]?.pages ?? 0),
    }),
    { seconds: 0, pages: 0 },
  );
  return sum.seconds > 0 ? Math.round(sum.pages / sum.seconds) : 0;
}

export function runRebuild(databaseUrl: string, args: string[] = []): Promise<RebuildRun> {
  return new Promise((resolve, reject) => {
    // HS_BENCH_NODE_ARGS: extra node flags for the rebuild process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.HS_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(
      process.execPath,
      [...nodeArgs, path.join(ROOT, 'bin/hyperstatic.js'), 'rebuild', '--json', ...args],
      {
        env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
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
  const settings = [
    'innodb_buffer_pool_size = 1073741824',
    'innodb_flush_log_at_trx_commit = 2',
    'sync_binlog = 0',
    'innodb_log_file_size = 536870912',
  ];
  for (const s of settings) await query(`SET GLOBAL ${s}`);
  return settings;
}

/** The run with the median pages/s (the slower middle one of an even count). */
function median(runs: RebuildRun[]): RebuildRun {
  return [...runs].sort((a, b) => a.pagesPerSecond - b.pagesPerSecond)[Math.floor((runs.length - 1) / 2)];
}

async function main(): Promise<void> {
  const sizes = (process.env.HS_BENCH_REBUILD_SIZES ?? '10000,100000').split(',').map(Number);
  // The machine is shared and its speed drifts by ±20% from one run to the
  // next: each size is measured on REPEAT freshly generated sites and the
  // table gives the median run, with the slowest and fastest beside it.
  const repeat = Number(process.env.HS_BENCH_REBUILD_REPEAT ?? 3);
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new Error(
      `HS_BENCH_REBUILD_REPEAT must be a whole number of sites, at least 1; got ${JSON.stringify(process.env.HS_BENCH_REBUILD_REPEAT)}`,
    );
  const cluster = await startMariaDBCluster({ replicas: 0 });
  const rows: Row[] = [];
  try {
    const settings = await tuneForBench((sql) => cluster.primary.query(sql));
    for (const size of sizes) {
      const runs: Record<'cold' | 'warm', RebuildRun[]> = { cold: [], warm: [] };
      for (let attempt = 1; attempt <= repeat; attempt++) {
        const target = await createDatabase(cluster, `rebuild${size}`);
        const db = createKnex(target.primaryUrl);
        await migrateLatest(db);
        const t0 = Date.now();
        const generated = await generateSite(db, { articles: size, seed: 42 });
        const generateSeconds = (Date.now() - t0) / 1000;
        await db.destroy();
        process.stdout.write(
          `generated ${size} articles + ${generated.events} events in ${generateSeconds.toFixed(1)} s (site ${attempt} of ${repeat})\n`,
        );
        for (const kind of ['cold', 'warm'] as const) {
          const run = await runRebuild(target.primaryUrl, kind === 'warm' ? ['--restart'] : []);
          runs[kind].push(run);
          process.stdout.write(
            `${JSON.stringify({ articles: size, rebuild: kind, site: attempt, seconds: run.seconds, 'pages/s': Math.round(run.pagesPerSecond), 'peak RSS MB': Math.round(run.peakRssMb), phases: run.phases })}\n`,
          );
        }
        await target.drop();
      }
      for (const kind of ['cold', 'warm'] as const) {
        const run = median(runs[kind]);
        const rates = runs[kind].map((r) => Math.round(r.pagesPerSecond));
        const peakRss = Math.max(...runs[kind].map((r) => r.peakRssMb));
        rows.push({
          articles: size,
          rebuild: kind,
          runs: runs[kind].length,
          pages: run.pages,
          journaled: run.written,
          seconds: run.seconds,
          'pages/s': Math.round(run.pagesPerSecond),
          'slowest-fastest': `${Math.min(...rates)}-${Math.max(...rates)}`,
          'item pages/s': rateOf(run, ['articles', 'events', 'sweep']),
          'listing pages/s': rateOf(run, ['buckets', 'indexes', 'site']),
          'peak RSS MB': Math.round(peakRss),
          target: run.pagesPerSecond >= 3000 && peakRss <= 300 ? 'met' : 'MISSED',
        });
      }
    }
    report(
      'rebuild',
      'Full rebuild on MariaDB (`npm run bench -- rebuild`); median of the runs; target >= 3000 pages/s, <= 300 MB peak RSS (the largest of the runs)',
      rows,
      { serverSettings: settings, repeat },
    );
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
