// The stack the distribution benches measure (propagation, on-time): an
// embedded origin (app + producer, SQLite) and mirrors that each reach it
// through a fault-injecting link (test/support/faulty-link.ts), so one
// machine holds mirrors "far away" at a chosen one-way latency. Also the
// admin API calls and the origin-feed tap those benches share.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../../bin/embedded';
import { keyFiles } from '../../app/feed/signing-keys';
import { loadConfig, type Config } from '../../common/config';
import { followFeed } from '../../common/feed-client';
import type { JournalEntry } from '../../common/feed-format';
import { createLogger } from '../../common/logger';
import { startMirror, type RunningMirror } from '../../mirrors/main';
import { startFaultyLink, type FaultyLink } from '../../test/support/faulty-link';

type Site = Awaited<ReturnType<typeof startEmbedded>>;

export interface FarSite {
  config: Config;
  site: Site;
  dataDir: string;
  links: FaultyLink[];
  mirrors: RunningMirror[];
  /** The admin API of the origin, JSON in. */
  api(method: string, url: string, body?: unknown): Promise<Response>;
  /** Sets every link's one-way latency. */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

/**
 * The configuration of an embedded site for a bench: `env` under a new data
 * directory in the system's temporary folder, every port chosen by the
 * system, and quiet logs.
 */
export function embeddedBenchConfig(name: string, env: NodeJS.ProcessEnv = {}): { config: Config; dataDir: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `hs-bench-${name}-`));
  const config = loadConfig({
    ...env,
    DATA_DIR: dataDir,
    APP_PORT: '0',
    MIRROR_PORT: '0',
    PROXY_PORT: '0',
    LOG_LEVEL: 'warn',
    PROXY_ACCESS_LOG: 'false',
  });
  return { config, dataDir };
}

/** Starts the embedded origin (from `env` over the bench defaults) and `mirrorCount` mirrors behind links. */
export async function startFarSite(name: string, mirrorCount: number, env: NodeJS.ProcessEnv = {}): Promise<FarSite> {
  const { config, dataDir } = embeddedBenchConfig(name, { ...env, MIRROR_STATUS_INTERVAL_MS: '0' });
  const site = await startEmbedded(config);
  const links: FaultyLink[] = [];
  const mirrors: RunningMirror[] = [];
  const close = async () => {
    for (const m of mirrors) await m.close();
    for (const l of links) await l.close();
    await site.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < mirrorCount; i++) {
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
    // Serving (bootstrapped): what the benches measure is the steady state, not a mirror's start.
    for (const mirror of mirrors) await waitServing(mirror.url);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    config,
    site,
    dataDir,
    links,
    mirrors,
    api: (method, url, body) => siteApi(site, method, url, body),
    setLatency(ms) {
      for (const link of links) link.latencyMs = ms;
    },
    close,
  };
}

/** How long a mirror may take to load its copy of the site before a bench gives up. */
const MIRROR_READY_MS = 60_000;

async function waitServing(url: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    const res = await fetch(`${url}/`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) return;
    if (Date.now() - started > MIRROR_READY_MS)
      throw new Error(`mirror ${url} was not serving ${MIRROR_READY_MS} ms after it started`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One admin API call on an embedded site. */
export function siteApi(
  site: { appUrl: string; adminToken?: string },
  method: string,
  url: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${site.appUrl}${url}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * Follows the origin's own feed (no link in between) and reports each entry
 * with the time its batch arrived: the origin's share of a delay (relay,
 * render, journal) apart from the distribution to mirrors.
 */
export function tapOriginFeed(
  appUrl: string,
  onEntry: (entry: JournalEntry, at: number) => void,
): { close(): Promise<void> } {
  let seen = 0;
  const tap = followFeed({
    urls: [appUrl],
    after: () => seen,
    onBatch: async (batch) => {
      seen = batch.entries[batch.entries.length - 1].seq;
      const at = performance.timeOrigin + performance.now();
      for (const entry of batch.entries) onEntry(entry, at);
    },
    logger: createLogger('warn', 'tap'),
  });
  return {
    async close() {
      tap.close();
      await tap.done;
    },
  };
}
