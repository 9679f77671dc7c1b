// A publish every second for 60 s through the whole stack (embedded mode:
// app, producer, mirror; then a cache proxy following the mirror's change
// feed) while readers keep loading the article being edited and the home
// page through the proxy. Passes when no request fails and no read that
// started after the proxy applied a feed eviction returned an article older
// than what the mirror already served at that moment.
// Run: npm run bench -- proxy-publish   (BENCH_PUBLISH_SECONDS=60, BENCH_READERS=8)
import fs from 'node:fs';
import { createLogger } from '../common/logger';
import { startEmbedded } from '../bin/embedded';
import { startProxy } from '../cache-proxy/main';
import { percentile, report } from './report';
import { embeddedBenchConfig, siteApi } from './support/far-site';

const SECONDS = Number(process.env.BENCH_PUBLISH_SECONDS ?? 60);
const READERS = Number(process.env.BENCH_READERS ?? 8);
const MARK = /bench-version-(\d+)/;

interface Read {
  start: number;
  version: number;
}

async function main(): Promise<void> {
  // MIRROR_BOOTSTRAP=false: the mirror replays the journal instead of loading the manifest first (either is fine for this bench; override from the environment).
  const { config, dataDir } = embeddedBenchConfig('publish', { MIRROR_BOOTSTRAP: 'false', ...process.env });
  const site = await startEmbedded(config);
  const evictions: { at: number; mirrorVersion: number }[] = [];
  let mirrorVersion = 0;
  let articleUrl = '';
  const proxy = await startProxy(
    { ...config, proxyUpstreams: [site.mirrorUrl], proxyFeedUrl: site.mirrorUrl },
    {
      logger: createLogger('warn', 'bench-proxy'),
      // What the mirror is known to have served before this eviction: reads that start later must be at least as new.
      onEvict: (evicted, source) => {
        if (source === 'feed' && evicted === articleUrl) evictions.push({ at: performance.now(), mirrorVersion });
      },
    },
  );
  const api = (method: string, url: string, body: unknown) => siteApi(site, method, url, body);

  try {
    const created = await api('POST', '/api/articles', {
      title: 'Live blog',
      body: '<p>bench-version-0</p>',
      status: 'published',
    });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${await created.text()}`);
    const { id, url } = (await created.json()) as { id: number; url: string };
    articleUrl = url;
    for (let tries = 0; ; tries++) {
      const res = await fetch(`${site.mirrorUrl}${url}`);
      await res.arrayBuffer();
      if (res.status === 200) break;
      if (tries > 300) throw new Error(`${url} never reached the mirror`);
      await new Promise((r) => setTimeout(r, 50));
    }

    let running = true;
    const reads: Read[] = [];
    let requests = 0;
    const errors: string[] = [];
    // The mirror's own copy, polled directly: a lower bound of what it served when each eviction arrived.
    const watcher = (async () => {
      while (running) {
        try {
          const res = await fetch(`${site.mirrorUrl}${url}`);
          const version = Number(MARK.exec(await res.text())?.[1] ?? -1);
          if (version > mirrorVersion) mirrorVersion = version;
        } catch {
          // counted by the readers if it matters to them
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const reader = async () => {
      while (running) {
        for (const page of [url, '/']) {
          const start = performance.now();
          try {
            const res = await fetch(`${proxy.url}${page}`);
            const text = await res.text();
            requests++;
            if (res.status !== 200) errors.push(`${page}: ${res.status}`);
            else if (page === url) reads.push({ start, version: Number(MARK.exec(text)?.[1] ?? -1) });
          } catch (error) {
            errors.push(`${page}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }
    };
    const readers = Array.from({ length: READERS }, reader);

    const publishes: number[] = [];
    const began = performance.now();
    for (let n = 1; n <= SECONDS; n++) {
      const res = await api('PUT', `/api/articles/${id}`, {
        title: `Live blog, update ${n}`,
        body: `<p>bench-version-${n}</p>`,
      });
      if (res.status !== 200) errors.push(`publish ${n}: ${res.status} ${await res.text()}`);
      publishes.push(performance.now());
      const next = began + n * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    // Let the last change travel before the readers stop.
    await new Promise((r) => setTimeout(r, 2000));
    running = false;
    await Promise.all([...readers, watcher]);

    // A stale read: it started after an eviction yet showed a version older than the mirror had before that eviction.
    const stale = reads.filter((read) => evictions.some((e) => e.at <= read.start && read.version < e.mirrorVersion));
    // How far behind the newest published version the proxy was, per read (publish-to-reader lag, in versions).
    const finalVersion = Math.max(...reads.map((r) => r.version));
    const lagMs: number[] = [];
    for (let n = 1; n <= SECONDS; n++) {
      const firstSeen = reads.find((r) => r.version >= n && r.start >= publishes[n - 1]);
      if (firstSeen) lagMs.push(firstSeen.start - publishes[n - 1]);
    }
    const row = {
      seconds: SECONDS,
      readers: READERS,
      publishes: publishes.length,
      'proxy requests': requests,
      'req/s': Math.round(requests / ((performance.now() - began) / 1000)),
      errors: errors.length,
      'feed evictions': evictions.length,
      'stale after eviction': stale.length,
      'last version read': finalVersion,
      'publish→read p50 ms': percentile(lagMs, 50),
      'publish→read p99 ms': percentile(lagMs, 99),
    };
    report(
      'proxy-publish',
      `A publish every second for ${SECONDS} s through app → producer → mirror → cache proxy, ${READERS} readers`,
      [row],
      {
        errorsSample: errors.slice(0, 10),
        staleSample: stale.slice(0, 10),
      },
    );
    if (errors.length > 0) throw new Error(`${errors.length} failed requests, e.g. ${errors.slice(0, 3).join('; ')}`);
    if (stale.length > 0) throw new Error(`${stale.length} stale reads after an eviction`);
    if (finalVersion !== SECONDS) throw new Error(`readers never saw the last version (${finalVersion} of ${SECONDS})`);
  } finally {
    await proxy.close();
    await site.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
