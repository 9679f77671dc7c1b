// Propagation: time from the API answering a save to the new article page
// AND the updated home page (linking it) being served by every one of three
// mirrors, each behind a fault-injecting link (test/support/faulty-link.ts)
// with 0 ms and then 80 ms one-way latency. p50/p99 over 200 saves.
// Origin: the embedded mode (app + producer, SQLite, in-process queue).
//   npm run bench -- propagation        (PROPAGATION_SAVES=200)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../bin/embedded';
import { keyFiles } from '../app/feed/signing-keys';
import { loadConfig } from '../common/config';
import { followFeed } from '../common/feed-client';
import { createLogger } from '../common/logger';
import { startMirror, type RunningMirror } from '../mirrors/main';
import { startFaultyLink, type FaultyLink } from '../test/support/faulty-link';
import { percentile, report, type Row } from './report';

const SAVES = Number(process.env.PROPAGATION_SAVES ?? 200);
const LATENCIES = [0, 80];
const TARGET_P99: Record<number, number> = { 0: 250, 80: 600 };

async function servedEverywhere(mirrors: RunningMirror[], articlePath: string, started: number): Promise<number> {
  const pending = new Set(mirrors.map((m) => m.url));
  while (pending.size > 0) {
    for (const url of [...pending]) {
      const [article, home] = await Promise.all([fetch(`${url}${encodeURI(articlePath)}`), fetch(`${url}/`)]);
      await article.arrayBuffer();
      const homeText = await home.text();
      if (article.status === 200 && homeText.includes(`href="${articlePath}"`)) pending.delete(url);
    }
    if (performance.now() - started > 30_000) throw new Error(`${articlePath} did not reach every mirror in 30 s`);
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-propagation-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    APP_PORT: '0',
    MIRROR_PORT: '0',
    PROXY_PORT: '0',
    LOG_LEVEL: 'warn',
    PROXY_ACCESS_LOG: 'false',
    MIRROR_STATUS_INTERVAL_MS: '0',
  });
  const site = await startEmbedded(config);
  const links: FaultyLink[] = [];
  const mirrors: RunningMirror[] = [];
  const rows: Row[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const link = await startFaultyLink(site.appUrl);
      links.push(link);
      const mirrorConfig = loadConfig({
        LOG_LEVEL: 'warn',
        MIRROR_PORT: '0',
        MIRROR_DATA_DIR: path.join(dataDir, `far-mirror-${i}`),
        MIRROR_ORIGIN_URLS: link.url,
        MIRROR_PUBLIC_KEY: keyFiles(config.feedSigningKey).publicPath,
        MIRROR_STATUS_INTERVAL_MS: '0',
      });
      mirrors.push(await startMirror(mirrorConfig, { logger: createLogger('warn', `mirror-${i}`) }));
    }
    // When each path left the origin's feed (no link in between): separates the
    // origin's own time (relay, render, journal) from the distribution to mirrors.
    const pushedAt = new Map<string, number>();
    let seen = 0;
    const tap = followFeed({
      urls: [site.appUrl],
      after: () => seen,
      onBatch: async (batch) => {
        seen = batch.entries[batch.entries.length - 1].seq;
        for (const e of batch.entries) if (!pushedAt.has(e.path)) pushedAt.set(e.path, performance.now());
      },
      logger: createLogger('warn', 'tap'),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const latency of LATENCIES) {
      for (const link of links) link.latencyMs = latency;
      // Let the feed connections settle at the new latency.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const times: number[] = [];
      const originTimes: number[] = [];
      for (let i = 0; i < SAVES; i++) {
        const res = await fetch(`${site.appUrl}/api/articles`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
          body: JSON.stringify({
            title: `Propagation ${latency} ms ${i} ${Date.now()}`,
            body: '<p>Benchmark body.</p>',
            status: 'published',
          }),
        });
        if (res.status !== 201) throw new Error(`save failed: ${res.status} ${await res.text()}`);
        const answered = performance.now();
        const { url } = (await res.json()) as { url: string };
        times.push(await servedEverywhere(mirrors, url, answered));
        const pushed = pushedAt.get(url);
        if (pushed !== undefined) originTimes.push(pushed - answered);
      }
      rows.push({
        'one-way latency ms': latency,
        mirrors: mirrors.length,
        saves: times.length,
        'p50 ms': percentile(times, 50),
        'p99 ms': percentile(times, 99),
        'max ms': Math.max(...times),
        'origin push p50 ms': percentile(originTimes, 50),
        'origin push p99 ms': percentile(originTimes, 99),
        'target p99 ms': TARGET_P99[latency],
      });
    }
    tap.close();
    await tap.done;
  } finally {
    for (const m of mirrors) await m.close();
    for (const l of links) await l.close();
    await site.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  report(
    'propagation',
    'Save answered → article page and updated home page served by all 3 mirrors (embedded origin, mirrors behind faulty links)',
    rows,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
