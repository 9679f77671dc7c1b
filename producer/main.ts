// Composition root of the producer: consumes render jobs from the queue.
import http from 'node:http';
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
import { createRenderJobHandler } from './render-job';
import { createRenderer, siteInfoOf } from './renderer';
import { routerFor } from '../common/db/router';
import { registerRouterMetrics } from '../common/db/router-metrics';
import { listen, localUrl } from '../common/listen';

export interface ProducerOptions {
  logger?: Logger;
  registry?: Registry;
  db?: Database;
  queue?: RenderQueue;
  notifier?: JournalNotifier;
  /** Port for /healthz, /readyz, /metrics; undefined means none (the embedded mode serves them on the app). */
  opsPort?: number;
  /** The render clock of time-driven pages (the news sitemap's window, the events calendar); tests move it. */
  now?: () => number;
}

export async function startProducer(config: Config, options: ProducerOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel, 'producer');
  const registry = options.registry ?? createMetricsRegistry('producer');
  // Follows promotions: the primary's pool is swapped when the topology record moves (common/db/router.ts).
  const router = options.db ? undefined : await routerFor(config, logger);
  if (router) registerRouterMetrics(registry, router);
  const db = options.db ?? router!.primary();
  const queue = options.queue ?? createBullQueue(requireRedis(config, 'producer'), logger, config.redisPrefix);
  const notifier =
    options.notifier ?? createRedisNotifier(requireRedis(config, 'producer'), logger, config.redisPrefix);
  const renderer = createRenderer(siteInfoOf(config));

  registerBacklogMetrics(registry, { db, queue });
  let stopping = false;
  queue.process(
    config.producerConcurrency,
    createRenderJobHandler({
      db,
      renderer,
      notifier,
      logger,
      registry,
      groupItems: config.producerGroupItems,
      burstWaitMs: config.producerBurstWaitMs,
      stopping: () => stopping,
      now: options.now,
    }),
  );

  let server: http.Server | undefined;
  let url = '';
  if (options.opsPort !== undefined) {
    const ops = createOps(registry, {
      database: async () => {
        await db.raw('select 1');
      },
      queue: () => queue.ping(),
    });
    server = http.createServer((req, res) => {
      if (!ops.handle(req, res)) {
        res.writeHead(404).end();
      }
    });
    url = localUrl(
      await listen(server, {
        port: options.opsPort,
        host: config.bindHost,
        component: 'producer',
        portVariable: 'PRODUCER_PORT',
      }),
    );
  }
  logStarted(
    logger,
    'producer',
    { url: url || undefined, concurrency: config.producerConcurrency },
    'producer started',
  );

  return {
    name: 'producer',
    url,
    async close() {
      // Renders in flight finish their group and claim no other; the rest go back to the queue
      // (common/queue/bull-queue.ts) before the pools close.
      stopping = true;
      if (!options.queue) await queue.close();
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        // A scraper's kept-alive connection would hold the process for its whole idle timeout.
        server.closeAllConnections();
        await closed;
      }
      if (!options.notifier) await notifier.close();
      await router?.close();
    },
  };
}
