// Mirror catch-up and bootstrap:
// - files/s for a fresh mirror catching up 10,000 journal entries through the
//   change feed (bootstrap off: every entry travels the feed, every blob is
//   fetched and verified);
// - peak RSS of a mirror process bootstrapping a 100,000-page site from the
//   origin's manifest.
// Origin: the app in this process on SQLite; the measured mirror is a child
// process so its RSS is its own.
//   npm run bench -- mirror-catchup     (CATCHUP_CHANGES=10000 BOOTSTRAP_PAGES=100000)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateLatest } from '../app/db/migrate';
import { startApp } from '../app/main';
import { keyFiles } from '../app/feed/signing-keys';
import { loadConfig } from '../common/config';
import { createDatabase, type Database } from '../common/db/database';
import { createMemoryNotifier } from '../common/journal-notifier';
import { createLogger } from '../common/logger';
import { writeBatch, type RenderedPage } from '../producer/change-journal';
import { createMemoryQueue } from '../common/queue/memory-queue';
import { freePort } from '../test/harness/free-port';
import { report, type Row } from './report';

const CHANGES = Number(process.env.CATCHUP_CHANGES ?? 10_000);
const PAGES = Number(process.env.BOOTSTRAP_PAGES ?? 100_000);
const CLI = path.join(__dirname, '..', 'bin', 'hyperstatic.js');

/** Writes `count` article pages (~1 KiB each) in batches of `perBatch`, like a producer would. */
async function fillJournal(db: Database, count: number, perBatch: number, label: string): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < count; i += perBatch) {
    const pages: RenderedPage[] = [];
    for (let j = i; j < Math.min(count, i + perBatch); j++) {
      pages.push({
        path: `/news/${label}-${j}`,
        kind: 'article',
        op: 'put',
        body: Buffer.from(`<!doctype html><title>${label} ${j}</title><p>${'x'.repeat(900)} ${j}</p>`),
        contentType: 'text/html; charset=utf-8',
        lastModified: now,
      });
    }
    await writeBatch(db, pages, { now });
  }
}

async function head(appUrl: string): Promise<number> {
  const text = await (
    await fetch(`${appUrl}/feed?after=999999999999`, { signal: AbortSignal.timeout(1000) }).then((r) =>
      r.body!.getReader().read(),
    )
  ).value;
  return (JSON.parse(new TextDecoder().decode(text).split('data: ')[1].split('\n')[0]) as { head: number }).head;
}

interface MirrorRun {
  seconds: number;
  peakRssMiB: number;
}

/** Runs `hyperstatic mirror` until its cursor reaches `target`; returns the time and the peak RSS (VmHWM). */
async function runMirror(env: Record<string, string>, target: number): Promise<MirrorRun> {
  const port = await freePort();
  // /_mirror/status answers only on the operator listener (docs/design.md, "Operator endpoints").
  const internalPort = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'mirror'], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      MIRROR_PORT: String(port),
      MIRROR_INTERNAL_PORT: String(internalPort),
      MIRROR_STATUS_INTERVAL_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let peakKiB = 0;
  try {
    for (;;) {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // not on Linux, or the process is gone
      }
      if (child.exitCode !== null) throw new Error(`mirror exited with ${child.exitCode}`);
      try {
        const s = (await (await fetch(`http://127.0.0.1:${internalPort}/_mirror/status`)).json()) as { cursor: number };
        if (s.cursor >= target) break;
      } catch {
        // starting
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { seconds: (performance.now() - started) / 1000, peakRssMiB: peakKiB / 1024 };
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-catchup-'));
  const config = loadConfig({ DATA_DIR: dataDir, APP_PORT: '0', LOG_LEVEL: 'warn' });
  const db = createDatabase(config.databaseUrl);
  const rows: Row[] = [];
  const app = await startApp(config, {
    db,
    queue: createMemoryQueue(createLogger('warn', 'queue')),
    notifier: createMemoryNotifier(),
    logger: createLogger('warn', 'app'),
  });
  const mirrorEnv = (name: string, bootstrap: boolean) => ({
    MIRROR_ORIGIN_URLS: app.url,
    MIRROR_DATA_DIR: path.join(dataDir, name),
    MIRROR_PUBLIC_KEY: keyFiles(config.feedSigningKey).publicPath,
    MIRROR_BOOTSTRAP: String(bootstrap),
  });
  try {
    await migrateLatest(db);
    // Catch-up: 10,000 changes in batches of 10 (a save touches several pages).
    await fillJournal(db, CHANGES, 10, 'catchup');
    const catchUpHead = await head(app.url);
    const catchUp = await runMirror(mirrorEnv('catchup', false), catchUpHead);
    rows.push({
      measure: `catch up ${CHANGES} changes via the feed`,
      seconds: catchUp.seconds,
      'files/s': CHANGES / catchUp.seconds,
      'peak RSS MiB': catchUp.peakRssMiB,
      target: '≥ 2000 files/s',
    });

    // Bootstrap: grow the site to PAGES live pages, then a fresh mirror loads it from the manifest.
    await fillJournal(db, PAGES - CHANGES, 100, 'site');
    const siteHead = await head(app.url);
    const boot = await runMirror(mirrorEnv('bootstrap', true), siteHead);
    rows.push({
      measure: `bootstrap a ${PAGES}-page site from the manifest`,
      seconds: boot.seconds,
      'files/s': PAGES / boot.seconds,
      'peak RSS MiB': boot.peakRssMiB,
      target: '≤ 200 MB RSS',
    });
  } finally {
    await app.close();
    await db.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  report(
    'mirror-catchup',
    'Mirror catch-up (feed) and bootstrap (manifest), mirror as a child process, origin on SQLite',
    rows,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
