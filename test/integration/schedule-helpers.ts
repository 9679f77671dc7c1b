// Shared by the schedule-*.test.ts files: an app (and producer) on real
// MariaDB and Redis whose clock the test moves (test/support/fake-clock.ts).
import { loadConfig, Config } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import { createLogger } from '../../common/logger';
import type { RunningService } from '../../common/lifecycle';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { startProducer } from '../../producer/main';
import { pagePreviewFor } from '../../producer/preview-page';
import { SharedDatabase, sharedDatabase } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { fakeClock, FakeClock } from '../support/fake-clock';

export interface ScheduledSite {
  shared: SharedDatabase;
  db: Database;
  config: Config;
  clock: FakeClock;
  app: RunningService;
  producer?: RunningService;
  token: string;
  /** Stops the app and starts a new one on the same database, Redis and clock (a restart). */
  restartApp(): Promise<void>;
  close(): Promise<void>;
}

export async function startScheduledSite(
  name: string,
  redisUrl: string,
  options: { producer?: boolean; env?: Record<string, string> } = {},
): Promise<ScheduledSite> {
  const shared = await sharedDatabase(name);
  const config = loadConfig({
    DATABASE_URL: shared.primaryUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `hs-${shared.database}`,
    APP_PORT: '0',
    LOG_LEVEL: 'silent',
    RELAY_INTERVAL_MS: '200',
    SCHEDULE_RECHECK_MS: '200',
    ...options.env,
  });
  const db = createDatabase(config.databaseUrl);
  await migrateLatest(db);
  await createUser(db, 'editor1', 'editor', null);
  const token = await createApiToken(db, 'editor1');
  await db('sections').insert({ slug: 'news', name: 'News' });
  const logger = createLogger((process.env.TEST_LOG as 'error') ?? 'silent', 'test');
  const clock = fakeClock();
  const producer = options.producer ? await startProducer(config, { logger, now: clock.now }) : undefined;
  const site: ScheduledSite = {
    shared,
    db,
    config,
    clock,
    producer,
    token,
    app: await startApp(config, { logger, now: clock.now, preview: pagePreviewFor(config, clock.now) }),
    async restartApp() {
      await site.app.close();
      site.app = await startApp(config, { logger, now: clock.now, preview: pagePreviewFor(config, clock.now) });
    },
    async close() {
      await site.app.close();
      await site.producer?.close();
      await db.destroy();
      await shared.drop();
    },
  };
  return site;
}

export async function call(
  site: { app: RunningService; token: string },
  method: 'POST' | 'PUT' | 'GET',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> & { error?: { message: string; field?: string } } }> {
  const res = await fetch(`${site.app.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${site.token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** An RFC 3339 instant `ms` after the site's clock. */
export function inFuture(site: { clock: FakeClock }, ms: number): string {
  return new Date(site.clock.now() + ms).toISOString();
}

export async function statusOf(db: Database, table: string, id: number): Promise<string> {
  return (await db(table).where({ id }).first('status')).status as string;
}

export function waitForStatus(db: Database, table: string, id: number, status: string): Promise<true> {
  return waitFor(async () => (await statusOf(db, table, id)) === status, { what: `${table} ${id} ${status}` });
}

/** The scheduler's publish or unpublish revisions of an item: exactly one per applied change. */
export async function scheduledRevisions(db: Database, type: string, id: number, action: string): Promise<number> {
  const rows = await db('revisions').where({ item_type: type, item_id: id, action });
  return rows.length;
}
