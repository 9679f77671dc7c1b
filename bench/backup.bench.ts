// Embedded backup and restore (`hyperstatic backup`, `hyperstatic restore`):
// generate an embedded (SQLite) site of N articles, render it with
// `hyperstatic rebuild`, then time a backup and a restore, each as its own
// process, and give the database and archive sizes. Sizes:
// HS_BENCH_BACKUP_SIZES (default 100000). The generated site has no media
// files: media are copied as they are (already compressed formats), so a
// real site's archive grows by its media folder's size.
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

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; seconds: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`hyperstatic ${args.join(' ')} exited with ${code}: ${stdout}`));
      resolve({ stdout, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
  });
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

async function measure(articles: number, root: string): Promise<Row> {
  const dataDir = path.join(root, `site-${articles}`);
  const databaseUrl = `sqlite:${path.join(dataDir, 'hyperstatic.sqlite')}`;
  const db = createDatabase(databaseUrl);
  await migrateLatest(db);
  let t0 = Date.now();
  await generateSite(db, { articles, seed: 42 });
  await db.destroy();
  process.stdout.write(`generated ${articles} articles in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  t0 = Date.now();
  const rebuilt = await runRebuild(databaseUrl);
  process.stdout.write(`rendered ${rebuilt.pages} pages in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  initKeyPair(path.join(dataDir, 'keys', 'feed-ed25519.key'));

  const archive = path.join(root, `backup-${articles}.tar.gz`);
  const backup = await run(['backup', '--out', archive, '--json'], { DATA_DIR: dataDir });
  const summary = JSON.parse(backup.stdout.trim().split('\n').pop()!) as { seconds: number; pages: number };
  const restore = await run(['restore', archive, '--data-dir', path.join(root, `restored-${articles}`)], {});
  return {
    articles,
    pages: summary.pages,
    'database MB': mb(fs.statSync(path.join(dataDir, 'hyperstatic.sqlite')).size),
    'archive MB': mb(fs.statSync(archive).size),
    'backup s': Math.round(backup.seconds * 10) / 10,
    'restore s': Math.round(restore.seconds * 10) / 10,
  };
}

async function main(): Promise<void> {
  const sizes = (process.env.HS_BENCH_BACKUP_SIZES ?? '100000').split(',').map(Number);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-backup-'));
  const rows: Row[] = [];
  try {
    for (const size of sizes) {
      rows.push(await measure(size, root));
      process.stdout.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
    report(
      'backup',
      'Embedded backup and restore (`npm run bench -- backup`): a rendered SQLite site, no media; wall time of each command as its own process',
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
