// When a dependency is down the app answers clearly and loses nothing: a
// dead database is a 503 with Retry-After (never a stack trace); a dead
// Redis does not stop saves (the outbox keeps them) and they are queued as
// soon as Redis is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import type { RunningService } from '../../common/lifecycle';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { freePort } from '../harness/free-port';
import { RedisServer, startRedis } from '../harness/redis';
import { sharedDatabase, SharedDatabase } from '../harness/shared';
import { waitFor } from '../harness/wait';

const logger = createLogger('silent', 'test');

describe('a database that is down', () => {
  let app: RunningService;
  before(async () => {
    const deadPort = await freePort();
    app = await startApp(
      loadConfig({
        DATABASE_URL: `mysql://hyperstatic:x@127.0.0.1:${deadPort}/hyperstatic`,
        REDIS_URL: 'redis://127.0.0.1:1',
        APP_PORT: '0',
        LOG_LEVEL: 'silent',
      }),
      { logger },
    );
  });
  after(() => app?.close());

  it('gets 503 with Retry-After and a message, and /readyz says which dependency failed', async () => {
    const res = await fetch(`${app.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer hs_aaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
      body: JSON.stringify({ title: 't', body: 'b' }),
    });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'HS_UNAVAILABLE');
    assert.match(body.error.message, /database is unreachable; nothing was saved/);
    assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/, 'no stack trace');
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 503);
    const checks = ((await ready.json()) as { checks: Record<string, string> }).checks;
    assert.notEqual(checks.database, 'ok');
  });
});

describe('a Redis that is down', () => {
  let shared: SharedDatabase;
  let redis: RedisServer;
  let db: Database;
  let app: RunningService;
  let token: string;

  before(async () => {
    shared = await sharedDatabase('outage');
    redis = await startRedis();
    const config = loadConfig({
      DATABASE_URL: shared.primaryUrl,
      REDIS_URL: redis.url,
      REDIS_PREFIX: shared.database,
      APP_PORT: '0',
      LOG_LEVEL: 'silent',
      RELAY_INTERVAL_MS: '100',
    });
    db = createDatabase(config.databaseUrl);
    await migrateLatest(db);
    await createUser(db, 'ed', 'editor', null);
    token = await createApiToken(db, 'ed');
    app = await startApp(config, { logger });
  });
  after(async () => {
    await app?.close();
    await db?.destroy();
    await redis?.stop();
    await shared?.drop();
  });

  it('still accepts saves, keeps them in the outbox, and queues them when Redis returns', async () => {
    await redis.kill();
    const res = await fetch(`${app.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: 'Saved while Redis is down', body: '<p>kept</p>', status: 'published' }),
    });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: number };
    const row = await db('outbox').where({ item_id: id }).first();
    assert.equal(row.dispatched_at, null, 'not queued while Redis is down');
    assert.equal((await fetch(`${app.url}/readyz`)).status, 503);

    await redis.restart();
    await waitFor(
      async () => ((await db('outbox').where({ item_id: id }).first()).dispatched_at !== null ? true : undefined),
      { what: 'the relay to queue the kept save', timeoutMs: 20_000 },
    );
    await waitFor(async () => ((await fetch(`${app.url}/readyz`)).status === 200 ? true : undefined), {
      what: '/readyz to recover',
    });
  });
});
