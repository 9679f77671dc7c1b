// Propagation: time from the API answering a save to the new article page
// AND the updated home page (linking it) being served by every one of three
// mirrors, each behind a fault-injecting link (test/support/faulty-link.ts)
// with 0 ms and then 80 ms one-way latency. p50/p99 over 200 saves.
// Origin: the embedded mode (app + producer, SQLite, in-process queue).
//   npm run bench -- propagation        (PROPAGATION_SAVES=200)
import type { RunningMirror } from '../mirrors/main';
import { percentile, report, type Row } from './report';
import { startFarSite, tapOriginFeed } from './support/far-site';

/** Epoch ms, monotonic within the run: the origin-feed tap reports on this clock. */
const now = () => performance.timeOrigin + performance.now();

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
    if (now() - started > 30_000) throw new Error(`${articlePath} did not reach every mirror in 30 s`);
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return now() - started;
}

async function main(): Promise<void> {
  const far = await startFarSite('propagation', 3);
  const { mirrors } = far;
  const rows: Row[] = [];
  try {
    // When each path left the origin's feed: the origin's own time (relay,
    // render, journal) apart from the distribution to mirrors.
    const pushedAt = new Map<string, number>();
    const tap = tapOriginFeed(far.site.appUrl, (entry, at) => {
      if (!pushedAt.has(entry.path)) pushedAt.set(entry.path, at);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const latency of LATENCIES) {
      far.setLatency(latency);
      // Let the feed connections settle at the new latency.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const times: number[] = [];
      const originTimes: number[] = [];
      for (let i = 0; i < SAVES; i++) {
        const res = await far.api('POST', '/api/articles', {
          title: `Propagation ${latency} ms ${i} ${Date.now()}`,
          body: '<p>Benchmark body.</p>',
          status: 'published',
        });
        if (res.status !== 201) throw new Error(`save failed: ${res.status} ${await res.text()}`);
        const answered = now();
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
    await tap.close();
  } finally {
    await far.close();
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
