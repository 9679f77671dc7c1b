// The embedded mode's composition root (`hyperstatic all`, `npm start`):
// app, producer, one mirror and one cache proxy in one process, sharing one
// database handle, an in-process queue and an in-process journal notifier,
// unless DATABASE_URL / REDIS_URL point at real servers.
import { Config, redisTarget } from '../common/config';
import { createDatabase } from '../common/db/database';
import { createMemoryNotifier, createRedisNotifier } from '../common/journal-notifier';
import type { RunningService } from '../common/lifecycle';
import { createLogger, logStarted } from '../common/logger';
import { createMetricsRegistry } from '../common/ops';
import { startApp } from '../app/main';
import { migrateLatest } from '../app/db/migrate';
import { createApiToken } from '../app/auth/users';
import { startProducer } from '../producer/main';
import { pagePreviewFor } from '../producer/preview-page';
import { createMemoryQueue } from '../common/queue/memory-queue';
import { createBullQueue } from '../common/queue/bull-queue';
import { startMirror } from '../mirrors/main';
import { keyFiles } from '../app/feed/signing-keys';
import { startProxy } from '../cache-proxy/main';
import { seedFixtures } from '../fixtures/seed';

export interface Embedded extends RunningService {
  readonly banner: string;
  readonly appUrl: string;
  readonly mirrorUrl: string;
  /** The mirror's operator listener (/_mirror/status, /metrics), when MIRROR_INTERNAL_PORT is set. */
  readonly mirrorInternalUrl?: string;
  readonly publicUrl: string;
  /** Set on the first run, when the fixtures were seeded. */
  readonly adminToken?: string;
}

/** `now`: the app's and producer's clock (the browser test of scheduling moves it). */
export async function startEmbedded(config: Config, options: { now?: () => number } = {}): Promise<Embedded> {
  const logger = createLogger(config.logLevel, 'embedded');
  const db = createDatabase(config.databaseUrl, { logger });
  const started: RunningService[] = [];
  try {
    await migrateLatest(db);
    const seed = await seedFixtures(db);
    const adminToken = seed.seeded ? await createApiToken(db, 'admin', 'created by the first `npm start`') : undefined;

    const redis = redisTarget(config);
    const queue = redis
      ? createBullQueue(redis, createLogger(config.logLevel, 'queue'), config.redisPrefix)
      : createMemoryQueue(createLogger(config.logLevel, 'queue'));
    const notifier = redis ? createRedisNotifier(redis, logger, config.redisPrefix) : createMemoryNotifier();
    const registry = createMetricsRegistry('embedded');
    const shared = { db, queue, notifier, now: options.now };

    const producer = await startProducer(config, {
      ...shared,
      logger: createLogger(config.logLevel, 'producer'),
      registry,
    });
    started.push(producer);
    const preview = pagePreviewFor(config, options.now);
    const app = await startApp(config, { ...shared, logger: createLogger(config.logLevel, 'app'), registry, preview });
    started.push(app);
    // The app created the feed key pair on its first start; the embedded mirror pins its public half.
    const mirror = await startMirror(
      { ...config, mirrorOrigins: [app.url], mirrorPublicKey: keyFiles(config.feedSigningKey).publicPath },
      { logger: createLogger(config.logLevel, 'mirror'), embedded: true },
    );
    started.push(mirror);
    // One process, one terminal: a line per request would bury everything else unless asked for.
    const proxy = await startProxy(
      { ...config, proxyUpstreams: [mirror.url], proxyAccessLog: config.proxyAccessLog ?? false },
      { logger: createLogger(config.logLevel, 'proxy') },
    );
    started.push(proxy);

    const publicUrl = proxy.url.replace('://127.0.0.1:', '://localhost:');
    const appUrl = app.url.replace('://127.0.0.1:', '://localhost:');
    const lines = [
      '',
      `Hyperstatic is running (data in ${config.dataDir}).`,
      `  Public site (cache proxy): ${publicUrl}/`,
      `  Editor app and JSON API:   ${appUrl}/`,
      `  Mirror:                    ${mirror.url}/`,
      ...(mirror.internalUrl ? [`  Mirror operator endpoints: ${mirror.internalUrl}/_mirror/status, /metrics`] : []),
      ...(proxy.internalUrl ? [`  Proxy operator endpoints:  ${proxy.internalUrl}/metrics`] : []),
      seed.seeded ? '  Sample site seeded (user "admin"; its password and API token are below).' : '',
      '  Get an API token:          npx hyperstatic token create --user admin',
      `  Publish:  curl -X POST ${appUrl}/api/articles -H "Authorization: Bearer TOKEN" -H "Content-Type: application/json" \\`,
      `              -d '{"title":"Hello","body":"<p>First story</p>","status":"published"}'`,
      '  Stop with Ctrl-C; the next `npm start` reuses the data.',
      seed.seeded
        ? credentialsBlock(seed.adminPassword, adminToken)
        : '  Lost the admin password? `npx hyperstatic user passwd admin` sets a new one.',
      '',
    ];
    logStarted(logger, 'all', { url: publicUrl, appUrl, mirrorUrl: mirror.url }, 'embedded site started');
    return {
      name: 'embedded',
      url: publicUrl,
      appUrl: app.url,
      mirrorUrl: mirror.url,
      mirrorInternalUrl: mirror.internalUrl,
      publicUrl: proxy.url,
      adminToken,
      banner: `${lines.join('\n')}\n`,
      async close() {
        for (const service of [...started].reverse()) await service.close();
        await queue.close();
        await notifier.close();
        await db.destroy();
      },
    };
  } catch (error) {
    for (const service of started.reverse()) await service.close().catch(() => undefined);
    await db.destroy();
    throw error;
  }
}

/**
 * The first start's sign-in details, set apart from the JSON log lines above
 * them: they are shown this once and never logged.
 */
export function credentialsBlock(password: string | undefined, token: string | undefined): string {
  const rule = '='.repeat(72);
  return [
    '',
    rule,
    '  FIRST START: sign-in details, shown only this once; keep them safe',
    rule,
    `  Editor login:        admin / ${password ?? '(unchanged)'}`,
    `  API token for admin: ${token ?? '(none)'}`,
    '  Change the password: npx hyperstatic user passwd admin',
    rule,
  ].join('\n');
}
