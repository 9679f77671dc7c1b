// Bundles (`hyperstatic bundle export`, `bundle verify`): generate an
// embedded (SQLite) site of N articles, render it with `hyperstatic
// rebuild`, export the whole site, verify it, then change the bodies of
// 1,000 articles (HS_BENCH_BUNDLE_CHANGES), render again and export only the
// changes since the first bundle's cursor. Each command runs as its own
// process; the table gives its wall time, the bundle's size on disk and the
// command's peak RSS. Sizes: HS_BENCH_BUNDLE_SIZES (default 100000).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateLatest } from '../app/db/migrate';
import { initKeyPair } from '../app/feed/signing-keys';
import { createDatabase } from '../common/db/database';
import { generateSite } from '../fixtures/generate';
import { runRebuild } from './rebuild.bench';
import { report, Row } from './report';

const CLI = path.resolve(__dirname, '..', 'bin', 'hyperstatic.js');

interface Measured {
  seconds: number;
  peakRssMb: number;
  files: number;
  bytes: number;
  cursor: number;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Measured & Record<string, unknown>> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`hyperstatic ${args.join(' ')} exited with ${code}: ${stdout}`));
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as Measured;
      // Wall time of the whole process (start-up included), not only the command's own clock.
      resolve({ ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
  });
}

/** Bytes the tree takes on disk (blocks, as `du` counts them), and its file count. */
function diskUsage(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const st = fs.lstatSync(path.join(entry.parentPath, entry.name));
    bytes += st.blocks * 512;
    if (entry.isFile()) files += 1;
  }
  return { bytes, files };
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const secs = (s: number) => Math.round(s * 10) / 10;

async function measure(articles: number, changes: number, root: string): Promise<Row[]> {
  const dataDir = path.join(root, `site-${articles}`);
  const databaseUrl = `sqlite:${path.join(dataDir, 'hyperstatic.sqlite')}`;
  const db = createDatabase(databaseUrl);
  await migrateLatest(db);
  let t0 = Date.now();
  await generateSite(db, { articles, seed: 42 });
  process.stdout.write(`generated ${articles} articles in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  t0 = Date.now();
  const rebuilt = await runRebuild(databaseUrl);
  process.stdout.write(`rendered ${rebuilt.pages} pages in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  initKeyPair(path.join(dataDir, 'keys', 'feed-ed25519.key'));
  const env = { DATA_DIR: dataDir };
  const pinned = ['--public-key', path.join(dataDir, 'keys', 'feed-ed25519.pub')];

  const whole = path.join(root, `bundle-${articles}`);
  const exported = await run(['bundle', 'export', whole], env);
  const wholeDisk = diskUsage(whole);
  const verified = await run(['bundle', 'verify', whole, ...pinned], env);

  // The changes: new bodies for `changes` articles, rendered by a rebuild (only changed pages are journaled).
  const ids = (await db('articles').orderBy('id').limit(changes).pluck('id')) as number[];
  await db('articles')
    .whereIn('id', ids)
    .update({ body: db.raw("body || '<p>Corrected.</p>'") });
  await db.destroy();
  const rerendered = await runRebuild(databaseUrl, ['--restart']);
  process.stdout.write(`re-rendered: ${rerendered.written} pages changed\n`);
  const delta = path.join(root, `delta-${articles}`);
  const deltaExport = await run(['bundle', 'export', delta, '--since', String(exported.cursor)], env);
  const deltaDisk = diskUsage(delta);
  const deltaVerified = await run(['bundle', 'verify', delta, ...pinned], env);

  const row = (what: string, m: Measured, disk: { bytes: number; files: number }, check: Measured): Row => ({
    articles,
    bundle: what,
    'page files': m.files,
    'files on disk': disk.files,
    'page MB': mb(m.bytes),
    'disk MB': mb(disk.bytes),
    'export s': secs(m.seconds),
    'export peak RSS MB': m.peakRssMb,
    'verify s': secs(check.seconds),
    'verify peak RSS MB': check.peakRssMb,
  });
  return [
    row('whole site', exported, wholeDisk, verified),
    row(`delta (${changes} articles changed, ${rerendered.written} pages)`, deltaExport, deltaDisk, deltaVerified),
  ];
}

async function main(): Promise<void> {
  const sizes = (process.env.HS_BENCH_BUNDLE_SIZES ?? '100000').split(',').map(Number);
  const changes = Number(process.env.HS_BENCH_BUNDLE_CHANGES ?? 1000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-bundle-'));
  const rows: Row[] = [];
  try {
    for (const size of sizes) {
      for (const r of await measure(size, changes, root)) {
        rows.push(r);
        process.stdout.write(`${JSON.stringify(r)}\n`);
      }
    }
    report(
      'bundle',
      'Bundles (`npm run bench -- bundle`): export and verify of a rendered SQLite site, and of a delta; each command as its own process (wall time including start-up, peak RSS)',
      rows,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
