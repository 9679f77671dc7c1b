// A whole publishing site on a real MariaDB primary and two replicas: the
// app, producer (in-process queue and notifier) and one mirror, all routed
// through DATABASE_NODES the way production runs them. Used by the failover
// tests and by the chaos benchmark (bench/failover.bench.ts).
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../common/config';
import { createDatabase } from '../../common/db/database';
import { createMemoryNotifier } from '../../common/journal-notifier';
import type { RunningService } from '../../common/lifecycle';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import { switchSourceSide } from '../../app/db/semi-sync-roles';
import { createApiToken, createUser } from '../../app/auth/users';
import { startApp } from '../../app/main';
import { withAdmin, type ClusterAccess } from '../../app/db/promote';
import { startProducer } from '../../producer/main';
import { createMemoryQueue } from '../../common/queue/memory-queue';
import { startMirror, type RunningMirror } from '../../mirrors/main';
import {
  appUrl,
  Cluster,
  DbNode,
  REPLICATION_PASSWORD,
  REPLICATION_USER,
  startMariaDBCluster,
} from '../harness/mariadb';
import { makeTempDir, removeTempDir } from '../harness/cleanup';

export interface SaveOutcome {
  /** 'acknowledged': 201 seen; 'refused': a 4xx/5xx that says nothing was saved; 'indeterminate': no answer (timeout, reset). */
  kind: 'acknowledged' | 'refused' | 'indeterminate';
  status?: number;
  id?: number;
  url?: string;
  title: string;
  at: number;
}

export interface FailoverSite {
  cluster: Cluster;
  config: Config;
  access: ClusterAccess;
  app: RunningService;
  producer: RunningService;
  mirror: RunningMirror;
  token: string;
  /** Node by name: primary, replica1, replica2. */
  node(name: string): DbNode;
  /** One POST /api/articles; never throws. */
  saveOnce(title: string, options?: { key?: string; timeoutMs?: number }): Promise<SaveOutcome>;
  /** POSTs with one Idempotency-Key until acknowledged (503s are retried); returns the save and how long it took. */
  publish(title: string, timeoutMs?: number): Promise<SaveOutcome & { elapsedMs: number; attempts: number }>;
  /** Resolves once the mirror serves `url` containing `text`. */
  waitOnMirror(url: string, text: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFailoverSite(options: {
  semiSync: boolean;
  pollMs?: number;
  semiSyncTimeoutMs?: number;
  /** See ClusterOptions.sourceSide: 'runtime' is the deployed way (source side off in config, switched on by the commands' code). */
  sourceSide?: 'config' | 'runtime';
  /** The app's and producer's clock (the scheduler's tests move it). */
  now?: () => number;
  /** More configuration (e.g. SCHEDULE_RECHECK_MS). */
  env?: Record<string, string>;
}): Promise<FailoverSite> {
  const cluster = await startMariaDBCluster({
    replicas: 2,
    semiSync: options.semiSync,
    semiSyncTimeoutMs: options.semiSyncTimeoutMs,
    sourceSide: options.sourceSide,
  });
  const dataDir = makeTempDir('failover-site');
  const started: RunningService[] = [];
  try {
    const names = ['primary', 'replica1', 'replica2'];
    const config = loadConfig({
      DATABASE_NODES: cluster.nodes.map((n, i) => `${names[i]}=${appUrl(n)}`).join(','),
      DATABASE_ADMIN_USER: 'root',
      DATABASE_ADMIN_PASSWORD: '',
      DATABASE_REPLICATION_USER: REPLICATION_USER,
      DATABASE_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
      DATABASE_TOPOLOGY_POLL_MS: String(options.pollMs ?? 100),
      DATA_DIR: dataDir,
      APP_PORT: '0',
      MIRROR_PORT: '0',
      LOG_LEVEL: process.env.HS_TEST_LOG_LEVEL ?? 'silent',
      REDIS_URL: '',
      RELAY_INTERVAL_MS: '200',
      MIRROR_RECONNECT_MS: '50',
      MIRROR_STATUS_INTERVAL_MS: '0',
      ...options.env,
    });
    const access: ClusterAccess = {
      nodes: config.databaseNodes,
      admin: { user: config.databaseAdminUser, password: config.databaseAdminPassword },
      replication: { user: config.databaseReplicationUser, password: config.databaseReplicationPassword },
    };
    const setup = createDatabase(appUrl(cluster.primary));
    let token: string;
    try {
      await migrateLatest(setup);
      await createUser(setup, 'editor1', 'editor', null);
      token = await createApiToken(setup, 'editor1');
    } finally {
      await setup.destroy();
    }
    if (options.semiSync && options.sourceSide === 'runtime') {
      // What `db setup-replica` does on the primary: switch the source side on and record it.
      const { acknowledging, recorded } = await withAdmin(access, 'primary', (conn) =>
        switchSourceSide(conn, 'primary', true, 10_000),
      );
      if (!acknowledging || !recorded) throw new Error('semi-sync did not start on the primary');
    }
    const logger = createLogger(config.logLevel, 'failover-site');
    const queue = createMemoryQueue(logger);
    const notifier = createMemoryNotifier();
    const producer = await startProducer(config, { queue, notifier, logger, now: options.now });
    started.push(producer);
    const app = await startApp(config, { queue, notifier, logger, now: options.now });
    started.push(app);
    const mirror = await startMirror({ ...config, mirrorOrigins: [app.url] }, { logger });
    started.push(mirror);

    async function saveOnce(title: string, opts: { key?: string; timeoutMs?: number } = {}): Promise<SaveOutcome> {
      const at = Date.now();
      try {
        const res = await fetch(`${app.url}/api/articles`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            'idempotency-key': opts.key ?? randomUUID(),
          },
          body: JSON.stringify({ title, body: `<p>${title}</p>`, status: 'published' }),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
        });
        const body = (await res.json()) as { id?: number; url?: string };
        if (res.status === 201) return { kind: 'acknowledged', status: 201, id: body.id, url: body.url, title, at };
        return { kind: 'refused', status: res.status, title, at };
      } catch {
        return { kind: 'indeterminate', title, at };
      }
    }

    return {
      cluster,
      config,
      access,
      app,
      producer,
      mirror,
      token,
      node(name) {
        const i = names.indexOf(name);
        if (i < 0) throw new Error(`no node ${name}`);
        return cluster.nodes[i];
      },
      saveOnce,
      async publish(title, timeoutMs = 20_000) {
        const key = randomUUID();
        const started = Date.now();
        let attempts = 0;
        for (;;) {
          attempts++;
          const outcome = await saveOnce(title, { key });
          if (outcome.kind === 'acknowledged') return { ...outcome, elapsedMs: Date.now() - started, attempts };
          if (outcome.kind === 'refused' && outcome.status !== 503)
            throw new Error(`save of ${title} refused with ${outcome.status}`);
          if (Date.now() - started > timeoutMs)
            throw new Error(
              `save of ${title} not acknowledged within ${timeoutMs} ms (${attempts} attempts, last ${outcome.kind} ${outcome.status ?? ''})`,
            );
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      async waitOnMirror(url, text, timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        let last = '';
        for (;;) {
          try {
            const res = await fetch(`${mirror.url}${url}`);
            const body = await res.text();
            if (res.status === 200 && body.includes(text)) return;
            last = `${res.status}`;
          } catch (error) {
            last = (error as Error).message;
          }
          if (Date.now() > deadline)
            throw new Error(`the mirror never served ${url} with ${JSON.stringify(text)} (last: ${last})`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      async close() {
        for (const s of [...started].reverse()) await s.close().catch(() => undefined);
        await queue.close();
        await notifier.close();
        await cluster.stop();
        removeTempDir(dataDir);
      },
    };
  } catch (error) {
    for (const s of [...started].reverse()) await s.close().catch(() => undefined);
    await cluster.stop();
    removeTempDir(dataDir);
    throw error;
  }
}
