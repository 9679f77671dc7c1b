// Composition root of the origin app: database, render queue, journal
// notifier, outbox relay, feed and HTTP server. The embedded mode passes in
// its in-process queue and notifier; production builds them from REDIS_URL (or REDIS_SENTINELS).
import http, { type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { Config, requireRedis } from '../common/config';
import type { Database } from '../common/db/database';
import { createRedisNotifier, JournalNotifier } from '../common/journal-notifier';
import type { RunningService } from '../common/lifecycle';
import { createLogger, Logger, logStarted } from '../common/logger';
import { registerBacklogMetrics } from '../common/render-backlog';
import { createMetricsRegistry, createOps } from '../common/ops';
import type { RenderQueue } from '../common/queue/render-queue';
import { createBullQueue } from '../common/queue/bull-queue';
import { ITEM_KINDS } from './content/item-kinds';
import { createItemService } from './content/item-service';
import { createFeedService } from './feed/feed-routes';
import { ensureSigningKey } from './feed/signing-keys';
import { loadTrustBundle } from './feed/trust-statements';
import { startOutboxRelay } from './outbox/outbox-relay';
import { routerFor } from '../common/db/router';
import { registerRouterMetrics } from '../common/db/router-metrics';
import { createAppServer } from './server';
import { createEditorApp } from './editor-app';
import { listen, localUrl } from '../common/listen';
import { createDrain } from '../common/http-drain';
import { startAppScheduler } from './schedule/app-scheduler';
import type { Scheduler } from './schedule/scheduler';
import type { PagePreview } from './preview/page-preview';

/** How long a stop lets requests in flight finish (docs/operations.md, "Stopping a process"). */
const HTTP_GRACE_MS = 1000;

export interface AppOptions {
  logger?: Logger;
  registry?: Registry;
  db?: Database;
  queue?: RenderQueue;
  notifier?: JournalNotifier;
  /** The producer's page renderer for preview links (bin/ builds it: the app does not import the producer). */
  preview?: PagePreview;
  /** The clock of saves and of the scheduler (tests move it; nothing else is faked). */
  now?: () => number;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel, 'app');
  const registry = options.registry ?? createMetricsRegistry('app');
  // Follows promotions: the primary's pool is swapped when the topology record moves (common/db/router.ts).
  const router = options.db ? undefined : await routerFor(config, logger);
  if (router) registerRouterMetrics(registry, router);
  const db = options.db ?? router!.primary();
  const queue = options.queue ?? createBullQueue(requireRedis(config, 'app'), logger, config.redisPrefix);
  const notifier = options.notifier ?? createRedisNotifier(requireRedis(config, 'app'), logger, config.redisPrefix);

  registerBacklogMetrics(registry, { db, queue });
  const relay = startOutboxRelay({ db, queue, logger, registry, intervalMs: config.relayIntervalMs });
  const now = options.now ?? Date.now;
  // Bound once the editorial services exist: every save may have set, moved or cancelled a schedule.
  const later: { scheduler?: Scheduler } = {};
  const onSaved = () => {
    relay.wake();
    void later.scheduler?.rearm();
  };
  const items = ITEM_KINDS.map((kind) => createItemService(kind, { db, now, onSaved }));
  const feed = appFeed(config, { db, notifier, logger, registry });
  const ops = createOps(registry, {
    database: async () => {
      await db.raw('select 1');
    },
    queue: () => queue.ping(),
  });
  const editor = createEditorApp({
    db,
    items,
    onOwed: () => relay.wake(),
    logger,
    mediaDir: config.mediaDir,
    mediaMaxBytes: config.mediaMaxBytes,
    mediaRenditionConcurrency: config.mediaRenditionConcurrency,
    maxBodyBytes: config.maxBodyBytes,
    siteName: config.siteName,
    publicUrl: config.publicUrl,
    siteTimeZone: config.siteTimeZone,
    preview: options.preview,
    now,
  });
  const scheduler = startAppScheduler(config, { db, items: editor.items, logger, now, relay });
  later.scheduler = scheduler;
  const app = createAppServer({
    db,
    items: editor.items,
    feed,
    ops,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    siteName: config.siteName,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
    editor,
  });

  const drain = createDrain();
  const server: Server = http.createServer(drain.handler(app));
  const url = localUrl(
    await listen(server, {
      port: config.appPort,
      host: config.bindHost,
      component: 'origin app',
      portVariable: 'APP_PORT',
    }),
  );
  logStarted(logger, 'app', { url }, 'origin app listening');

  return {
    name: 'app',
    url,
    async close() {
      // Feed streams end first (mirrors reconnect to another origin); saves in
      // flight are answered before the relay's last pass and the pools close.
      feed.close();
      editor.close();
      await drain.close(server, HTTP_GRACE_MS);
      await scheduler.close();
      await relay.stop();
      if (!options.queue) await queue.close();
      if (!options.notifier) await notifier.close();
      await router?.close();
    },
  };
}

/** The origin's side of the mirror protocol, signed with the feed key. */
function appFeed(
  config: Config,
  deps: { db: Database; notifier: JournalNotifier; logger: Logger; registry: Registry },
): ReturnType<typeof createFeedService> {
  return createFeedService({
    ...deps,
    signingKey: ensureSigningKey(config.feedSigningKey, deps.logger),
    statusToken: config.mirrorStatusToken,
    trustBundle: () => loadTrustBundle(deps.db),
    heartbeatMs: config.feedHeartbeatMs,
    heartbeatValidMs: config.feedHeartbeatValidMs,
  });
}
