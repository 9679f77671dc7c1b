// The operator's view and the editor's retry, on the shared primary + replica:
// `db status`, `db promote --dry-run` and refused promotions through the real
// CLI (they change nothing, so the shared cluster stays as it is), `status`,
// and Idempotency-Key on article saves.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import { createMemoryNotifier } from '../../common/journal-notifier';
import type { RunningService } from '../../common/lifecycle';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { createMemoryQueue } from '../../common/queue/memory-queue';
import { freePort } from '../harness/free-port';
import { sharedDatabase, SharedDatabase } from '../harness/shared';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('failover commands and idempotent saves on the shared cluster', () => {
  let shared: SharedDatabase;
  let db: Database;
  let app: RunningService;
  let token: string;
  let env: Record<string, string>;

  before(async () => {
    shared = await sharedDatabase('failover_cli');
    db = createDatabase(shared.primaryUrl);
    await migrateLatest(db);
    await createUser(db, 'editor1', 'editor', null);
    token = await createApiToken(db, 'editor1');
    env = {
      DATABASE_NODES: `main=${shared.primaryUrl},standby=${shared.replicaUrl}`,
      DATABASE_ADMIN_USER: 'root',
      DATABASE_ADMIN_PASSWORD: '',
    };
    const config = loadConfig({
      DATABASE_URL: shared.primaryUrl,
      APP_PORT: '0',
      LOG_LEVEL: 'silent',
      RELAY_INTERVAL_MS: '200',
    });
    const logger = createLogger('silent', 'test');
    app = await startApp(config, { logger, queue: createMemoryQueue(logger), notifier: createMemoryNotifier() });
  });

  after(async () => {
    await app?.close();
    await db?.destroy();
    await shared?.drop();
  });

  function save(body: unknown, key?: string) {
    return fetch(`${app.url}/api/articles`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      body: JSON.stringify(body),
    });
  }

  test('a save retried with the same Idempotency-Key is answered again, not saved twice', async () => {
    const body = { title: 'Retried across a failover', body: '<p>x</p>', status: 'published' };
    const first = await save(body, 'key-retry-1');
    assert.equal(first.status, 201);
    const firstBody = (await first.json()) as { id: number };
    const again = await save(body, 'key-retry-1');
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.headers.get('location'), `/api/articles/${firstBody.id}`);
    assert.deepEqual(await again.json(), firstBody);
    const [{ n }] = await db('articles').where({ title: body.title }).count({ n: '*' });
    assert.equal(Number(n), 1);
  });

  test('concurrent saves with one key produce one article and one answer', async () => {
    const body = { title: 'Double click', body: '<p>x</p>', status: 'draft' };
    const answers = await Promise.all([save(body, 'key-race'), save(body, 'key-race'), save(body, 'key-race')]);
    const ids = await Promise.all(answers.map(async (r) => ((await r.json()) as { id: number }).id));
    assert.deepEqual(
      answers.map((r) => r.status),
      [201, 201, 201],
    );
    assert.equal(new Set(ids).size, 1);
    const [{ n }] = await db('articles').where({ title: body.title }).count({ n: '*' });
    assert.equal(Number(n), 1);
  });

  test('reusing a key for a different save is refused with 422 and changes nothing', async () => {
    assert.equal((await save({ title: 'Original', body: '<p>x</p>', status: 'draft' }, 'key-reuse')).status, 201);
    const res = await save({ title: 'Something else', body: '<p>x</p>', status: 'draft' }, 'key-reuse');
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /different request/);
    assert.equal(await db('articles').where({ title: 'Something else' }).first(), undefined);
  });

  test('a malformed Idempotency-Key is a 400 naming the header', async () => {
    const res = await save({ title: 'Bad key', body: '<p>x</p>', status: 'draft' }, 'has spaces in it');
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /Idempotency-Key/);
    assert.equal(await db('articles').where({ title: 'Bad key' }).first(), undefined);
  });

  test('`db status --json` shows the primary and the replica with their GTIDs and epoch', async () => {
    const { code, stdout, stderr } = await cli(['db', 'status', '--json'], env);
    assert.equal(code, 0, stderr);
    const view = JSON.parse(stdout) as {
      primary: string;
      epoch: number;
      nodes: { name: string; role: string; readOnly: boolean; gtidCurrent: string; lagSeconds: number }[];
    };
    assert.equal(view.primary, 'main');
    assert.equal(view.epoch, 1);
    const [main, standby] = view.nodes;
    assert.equal(main.role, 'primary');
    assert.equal(main.readOnly, false);
    assert.equal(standby.role, 'replica');
    assert.equal(standby.readOnly, true);
    assert.match(standby.gtidCurrent, /^0-1-\d+/);
  });

  test('`db promote --dry-run` prints the plan and changes nothing; unknown and current-primary candidates are refused', async () => {
    const dry = await cli(['db', 'promote', 'standby', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Plan: promote standby/);
    assert.match(dry.stdout, /fence main/);
    assert.match(dry.stdout, /Safe to promote/);

    const unknown = await cli(['db', 'promote', 'elsewhere'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown node "elsewhere"; the configured nodes are main, standby/);

    const self = await cli(['db', 'promote', 'main'], env);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /main is already the primary/);

    const [state] = await db('cluster_state').where({ id: 1 });
    assert.equal(Number(state.epoch), 1, 'the epoch is unchanged');
    assert.equal(await db('db_topology').first(), undefined, 'no topology record was written');
  });

  test('`db migrate` with DATABASE_NODES migrates the primary the topology names', async () => {
    const { code, stdout, stderr } = await cli(['db', 'migrate'], env);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /schema is up to date/);
  });

  test('`status --json` reports the database nodes, queue depth and journal head, and exits 1 naming an unreachable proxy', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { code, stdout, stderr } = await cli(['status', '--json'], { ...env, STATUS_PROXY_URLS: closed });
    assert.equal(code, 1, stderr);
    const status = JSON.parse(stdout) as {
      healthy: boolean;
      problems: string[];
      database: { primary: string };
      queue: { pendingRenders: number };
      journal: { head: number };
      proxies: { reachable: boolean }[];
    };
    assert.equal(status.healthy, false);
    assert.deepEqual(status.problems, [`proxy ${closed} down: ECONNREFUSED`]);
    assert.equal(status.database.primary, 'main');
    assert.equal(typeof status.queue.pendingRenders, 'number');
    assert.equal(typeof status.journal.head, 'number');
    assert.deepEqual(
      status.proxies.map((p) => p.reachable),
      [false],
    );
  });
});
