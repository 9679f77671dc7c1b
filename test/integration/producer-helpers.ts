// Shared by the producer-*.test.ts files: a running app + producer against a
// real MariaDB database and a real Redis, and readers for what was published.
import assert from 'node:assert/strict';
import { loadConfig, Config } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import { createLogger } from '../../common/logger';
import type { RunningService } from '../../common/lifecycle';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { startProducer } from '../../producer/main';
import { rebuild } from '../../producer/rebuild';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { SharedDatabase, sharedDatabase } from '../harness/shared';
import { waitFor } from '../harness/wait';

export interface Site {
  shared: SharedDatabase;
  db: Database;
  config: Config;
  app: RunningService;
  producer?: RunningService;
  token: string;
  close(): Promise<void>;
}

export async function startSite(
  name: string,
  redisUrl: string,
  options: { producer?: boolean; env?: Record<string, string> } = {},
): Promise<Site> {
  const shared = await sharedDatabase(name);
  const config = loadConfig({
    DATABASE_URL: shared.primaryUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `hs-${shared.database}`,
    APP_PORT: '0',
    LOG_LEVEL: 'silent',
    RELAY_INTERVAL_MS: '200',
    ...options.env,
  });
  const db = createDatabase(config.databaseUrl);
  await migrateLatest(db);
  await createUser(db, 'editor1', 'editor', null);
  const token = await createApiToken(db, 'editor1');
  await db('sections').insert([
    { slug: 'news', name: 'News' },
    { slug: 'culture', name: 'Culture' },
  ]);
  const logger = createLogger((process.env.TEST_LOG as 'error') ?? 'silent', 'test');
  const producer = options.producer === false ? undefined : await startProducer(config, { logger });
  const app = await startApp(config, { logger });
  const site: Site = {
    shared,
    db,
    config,
    app,
    producer,
    token,
    async close() {
      await app.close();
      await site.producer?.close();
      await db.destroy();
      await shared.drop();
    },
  };
  return site;
}

export function api(site: Site, method: 'POST' | 'PUT' | 'GET', path: string, body?: unknown): Promise<Response> {
  return fetch(`${site.app.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${site.token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function save(
  site: Site,
  method: 'POST' | 'PUT',
  path: string,
  body: unknown,
): Promise<{ id: number; slug: string; url: string }> {
  const res = await api(site, method, path, body);
  const json = (await res.json()) as { id: number; slug: string; url: string; error?: { message: string } };
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${json.error?.message}`);
  return json;
}

/** Resolves once every outbox row is rendered (or reported as failed). */
export function settled(db: Database, timeoutMs = 20_000): Promise<true> {
  return waitFor(async () => Number((await db('outbox').whereNull('done_at').count({ n: '*' }))[0].n) === 0, {
    what: 'every save rendered',
    timeoutMs,
  });
}

/** The live page at a path: op and body text, or undefined. */
export async function page(
  db: Database,
  path: string,
): Promise<{ op: string; body: string; kind: string } | undefined> {
  const row = await db('pages').where({ path }).first();
  if (!row) return undefined;
  const blob = row.sha256 ? await db('blobs').where({ sha256: row.sha256 }).first('body') : undefined;
  return { op: row.op, kind: row.kind, body: blob ? Buffer.from(blob.body).toString() : '' };
}

export async function journalHead(db: Database): Promise<number> {
  return Number((await db('cluster_state').where({ id: 1 }).first('journal_head')).journal_head);
}

export async function entriesAfter(
  db: Database,
  seq: number,
): Promise<{ seq: number; batch: number; path: string; op: string; kind: string }[]> {
  const rows = await db('journal').where('seq', '>', seq).orderBy('seq').select('seq', 'batch', 'path', 'op', 'kind');
  return rows.map((r) => ({ seq: Number(r.seq), batch: Number(r.batch), path: r.path, op: r.op, kind: r.kind }));
}

/** A rebuild of a consistent site journals nothing: every page already has the bytes it would get. */
export async function assertConsistent(s: Site): Promise<void> {
  const head = await journalHead(s.db);
  await rebuild({
    db: s.db,
    renderer: createRenderer(siteInfoOf(s.config)),
    restart: true,
  });
  const changed = (await entriesAfter(s.db, head)).map((e) => e.path);
  // The events calendar root is rendered with the clock, and home/404 may be new on a site never rebuilt.
  assert.deepEqual(
    changed.filter((p) => !['/events', '/404.html', '/articles', '/'].includes(p)),
    [],
    'the live site equals a fresh render of the database',
  );
}

/** A burst of new articles from several writers at once, over a few tags and both sections. */
export async function burst(s: Site, count: number, writers: number, prefix: string) {
  // The tags exist before the writers race: creating one tag from two saves at once answers 409.
  for (const n of [0, 1, 2])
    if (
      !(await s
        .db('tags')
        .where({ slug: `t${n}` })
        .first())
    )
      await s.db('tags').insert({ slug: `t${n}`, name: `T${n}` });
  const saved: { id: number; url: string }[] = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = w; i < count; i += writers)
        saved.push(
          await saveRetrying(s, {
            title: `${prefix} ${i}`,
            body: `<p>${'words '.repeat(100)}</p>`,
            status: 'published',
            section: i % 2 ? 'news' : 'culture',
            tags: [`T${i % 3}`],
          }),
        );
    }),
  );
  return saved;
}

/**
 * Concurrent saves of articles sharing a tag can deadlock in the app
 * (article_tags inserts; answered 500, rolled back): the writer saves again.
 */
async function saveRetrying(s: Site, body: unknown): Promise<{ id: number; url: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await save(s, 'POST', '/api/articles', body);
    } catch (error) {
      if (attempt >= 10 || !/answered (409|500)/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 100));
    }
  }
}
