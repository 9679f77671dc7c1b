// Takedown: time from a moderator's hide being answered to the article being
// gone everywhere: its page 410 and its old body's /blobs/SHA 404 on 3
// mirrors and through 2 cache proxies (each proxy cached the body first, as
// immutable, and drops it only through the feed's purge entry). p50/p99 over
// TAKEDOWN_TRIALS trials (default 30).
// Origin: the embedded mode (app + producer, SQLite, in-process queue), with
// its own mirror and proxy, plus two mirrors following the origin and a
// second proxy in front of one of them.
//   npm run bench -- takedown
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../bin/embedded';
import { keyFiles } from '../app/feed/signing-keys';
import { startProxy, type RunningProxy } from '../cache-proxy/main';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { startMirror, type RunningMirror } from '../mirrors/main';
import { percentile, report } from './report';

const TRIALS = Number(process.env.TAKEDOWN_TRIALS ?? 30);

async function statusOf(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

/** Polls until every check answers its expected status; returns ms since `started`. */
async function goneEverywhere(checks: [string, number][], started: number): Promise<number> {
  const pending = new Map(checks);
  while (pending.size > 0) {
    for (const [url, want] of [...pending]) if ((await statusOf(url)) === want) pending.delete(url);
    if (performance.now() - started > 30_000) throw new Error(`not gone everywhere in 30 s: ${[...pending.keys()]}`);
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-takedown-'));
  const quiet = { LOG_LEVEL: 'warn', MIRROR_STATUS_INTERVAL_MS: '0', PROXY_ACCESS_LOG: 'false' };
  const config = loadConfig({ ...quiet, DATA_DIR: dataDir, APP_PORT: '0', MIRROR_PORT: '0', PROXY_PORT: '0' });
  const site = await startEmbedded(config);
  const mirrors: RunningMirror[] = [];
  let proxy: RunningProxy | undefined;
  try {
    for (let i = 0; i < 2; i++) {
      const mirrorConfig = loadConfig({
        ...quiet,
        MIRROR_PORT: '0',
        MIRROR_DATA_DIR: path.join(dataDir, `mirror-${i}`),
        MIRROR_ORIGIN_URLS: site.appUrl,
        MIRROR_PUBLIC_KEY: keyFiles(config.feedSigningKey).publicPath,
      });
      mirrors.push(await startMirror(mirrorConfig, { logger: createLogger('warn', `mirror-${i}`) }));
    }
    proxy = await startProxy(loadConfig({ ...quiet, PROXY_PORT: '0', PROXY_UPSTREAMS: mirrors[0].url }), {
      logger: createLogger('warn', 'proxy-2'),
    });
    const readers = [site.mirrorUrl, ...mirrors.map((m) => m.url), site.publicUrl, proxy.url];
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` };
    const times: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const res = await fetch(`${site.appUrl}/api/articles`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          title: `Takedown ${i} ${Date.now()}`,
          body: '<p>To be removed.</p>',
          status: 'published',
        }),
      });
      if (res.status !== 201) throw new Error(`save failed: ${res.status} ${await res.text()}`);
      const { id, url } = (await res.json()) as { id: number; url: string };
      await goneEverywhere(
        readers.map((r) => [`${r}${url}`, 200]),
        performance.now(),
      );
      const manifest = await (await fetch(`${site.appUrl}/manifest`)).text();
      const line = manifest.split('\n').find((l) => l.includes(`"path":"${url}"`));
      const sha = (JSON.parse(line as string) as { sha256: string }).sha256;
      // Every reader (and so every proxy cache) holds the body before the hide.
      await goneEverywhere(
        readers.map((r) => [`${r}/blobs/${sha}`, 200]),
        performance.now(),
      );
      const hide = await fetch(`${site.appUrl}/api/moderation/articles/${id}`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ action: 'hide', reason: 'benchmark' }),
      });
      if (hide.status !== 200) throw new Error(`hide failed: ${hide.status} ${await hide.text()}`);
      const answered = performance.now();
      times.push(
        await goneEverywhere(
          readers.flatMap((r): [string, number][] => [
            [`${r}${url}`, 410],
            [`${r}/blobs/${sha}`, 404],
          ]),
          answered,
        ),
      );
    }
    report(
      'takedown',
      'Hide answered → page 410 and old body 404 on 3 mirrors and through 2 proxies (embedded origin)',
      [
        {
          mirrors: 3,
          proxies: 2,
          trials: times.length,
          'p50 ms': percentile(times, 50),
          'p99 ms': percentile(times, 99),
          'max ms': Math.max(...times),
        },
      ],
    );
  } finally {
    await proxy?.close();
    for (const m of mirrors) await m.close();
    await site.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
