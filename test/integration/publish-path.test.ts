// The publish path against real MariaDB and real Redis (bull): a save is
// written with its outbox row, relayed, rendered, stored content-addressed
// and journaled; the origin's feed pushes it; bad input changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../common/config';
import { createDatabase, Database } from '../../common/db/database';
import { sha256Hex } from '../../common/hash';
import { createLogger } from '../../common/logger';
import type { RunningService } from '../../common/lifecycle';
import { migrateLatest } from '../../app/db/migrate';
import { startApp } from '../../app/main';
import { createApiToken, createUser } from '../../app/auth/users';
import { startProducer } from '../../producer/main';
import { lockJournal, writePages } from '../../producer/change-journal';
import { sharedDatabase, sharedRedisUrl, SharedDatabase } from '../harness/shared';
import { waitFor } from '../harness/wait';

describe('publish path on MariaDB and Redis', () => {
  let shared: SharedDatabase;
  let db: Database;
  let app: RunningService;
  let producer: RunningService;
  let token: string;

  before(async () => {
    shared = await sharedDatabase('publish');
    const redisUrl = await sharedRedisUrl();
    const config = loadConfig({
      DATABASE_URL: shared.primaryUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: shared.database,
      APP_PORT: '0',
      LOG_LEVEL: 'silent',
      MAX_BODY_BYTES: '65536',
      RELAY_INTERVAL_MS: '200',
    });
    db = createDatabase(config.databaseUrl);
    await migrateLatest(db);
    await createUser(db, 'editor1', 'editor', null);
    token = await createApiToken(db, 'editor1');
    await db('sections').insert({ slug: 'news', name: 'News' });
    const logger = createLogger('silent', 'test');
    // REDIS_PREFIX gives this file its own queue in the shared Redis.
    producer = await startProducer(config, { logger });
    app = await startApp(config, { logger });
  });

  after(async () => {
    await app?.close();
    await producer?.close();
    await db?.destroy();
    await shared?.drop();
  });

  function post(body: unknown, headers: Record<string, string> = {}) {
    return fetch(`${app.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  it('answers 201 with id, slug and public url, then renders the article and home page into the journal', async () => {
    const res = await post({
      title: 'Harbour vote delayed',
      body: '<p>Hello <script>alert(1)</script>world</p>',
      section: 'news',
      tags: ['Harbour'],
      status: 'published',
    });
    assert.equal(res.status, 201);
    const saved = (await res.json()) as { id: number; slug: string; url: string };
    assert.equal(saved.slug, 'harbour-vote-delayed');
    assert.equal(saved.url, '/news/harbour-vote-delayed');

    const stored = await db('articles').where({ id: saved.id }).first();
    assert.equal(stored.body, '<p>Hello world</p>', 'the body is sanitized on save');

    const page = await waitFor(() => db('pages').where({ path: saved.url }).first(), { what: 'article page rendered' });
    assert.equal(page.op, 'put');
    const blob = await db('blobs').where({ sha256: page.sha256 }).first();
    assert.equal(sha256Hex(Buffer.from(blob.body)), page.sha256, 'blobs are stored under their own sha256');
    assert.match(Buffer.from(blob.body).toString(), /Harbour vote delayed/);
    const home = await waitFor(
      async () => {
        const row = await db('pages').where({ path: '/' }).first();
        return row &&
          Buffer.from((await db('blobs').where({ sha256: row.sha256 }).first()).body)
            .toString()
            .includes(saved.url)
          ? row
          : undefined;
      },
      { what: 'home page links the article' },
    );
    assert.equal(home.kind, 'index');

    const entries = await db('journal').whereIn('path', [saved.url, '/']).orderBy('seq');
    const articleEntry = entries.find((e) => e.path === saved.url);
    const homeEntry = entries.find((e) => e.path === '/' && e.batch === articleEntry.batch);
    assert.ok(homeEntry, 'the article page and the home page are one batch');
    assert.ok(Number(articleEntry.seq) < Number(homeEntry.seq), 'the article comes before the index linking to it');
    assert.equal(
      (await db('outbox').where({ item_id: saved.id }).whereNull('done_at')).length,
      0,
      'the outbox row is done',
    );
  });

  it('PUT updates the article and the new version is journaled', async () => {
    const created = (await (
      await post({ title: 'Strike announced', body: '<p>v1</p>', status: 'published' })
    ).json()) as { id: number; url: string };
    const first = await waitFor(() => db('pages').where({ path: created.url }).first(), { what: 'first render' });
    const res = await fetch(`${app.url}/api/articles/${created.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ body: '<p>v2: strike called off</p>' }),
    });
    assert.equal(res.status, 200);
    const second = await waitFor(
      async () => {
        const row = await db('pages').where({ path: created.url }).first();
        return row.sha256 !== first.sha256 ? row : undefined;
      },
      { what: 'second render' },
    );
    const blob = await db('blobs').where({ sha256: second.sha256 }).first();
    assert.match(Buffer.from(blob.body).toString(), /strike called off/);
  });

  it('a save whose rendered pages are unchanged adds no journal entry', async () => {
    const created = (await (await post({ title: 'Library hours', body: '<p>same</p>', status: 'draft' })).json()) as {
      id: number;
    };
    await waitFor(
      async () =>
        (await db('outbox').where({ item_id: created.id }).whereNull('done_at')).length === 0 ? true : undefined,
      { what: 'draft processed' },
    );
    const headBefore = (await db('cluster_state').first()).journal_head;
    const res = await fetch(`${app.url}/api/articles/${created.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ summary: 'still a draft' }),
    });
    assert.equal(res.status, 200);
    await waitFor(
      async () =>
        (await db('outbox').where({ item_id: created.id }).whereNull('done_at')).length === 0 ? true : undefined,
      { what: 'update processed' },
    );
    assert.equal((await db('cluster_state').first()).journal_head, headBefore);
  });

  it('refuses bad input with a 4xx naming the problem and writes nothing', async () => {
    const count = async () => Number((await db('articles').count({ n: '*' }))[0].n);
    const before = await count();
    const cases: [Promise<Response>, number, RegExp][] = [
      [post('{"title": '), 400, /not valid JSON/],
      [post({ body: '<p>x</p>' }), 400, /title is required/],
      [post({ title: 'x', body: 'y', tags: 'nope' }), 400, /tags must be an array/],
      [post({ title: 'x', body: 'y', colour: 'red' }), 400, /unknown field: colour/],
      [post({ title: 'x', body: 'y', featured: 'yes' }), 400, /featured must be true or false/],
      [post({ title: 'x', body: 'y', section: 'nowhere' }), 400, /unknown section/],
      [post({ title: 'x', body: 'y', tags: ['<b>bold</b>'] }), 400, /tag/],
      [post({ title: 'x', body: 'y'.repeat(70_000) }), 413, /larger than/],
      [post({ title: 'x', body: 'y' }, { authorization: 'Bearer hs_wrongwrongwrongwrongwrong' }), 401, /API token/],
      [post({ title: 'x', body: 'y' }, { authorization: '' }), 401, /API token/],
      [post({ title: 'x', body: 'y' }, { 'content-type': 'text/plain' }), 415, /JSON/],
    ];
    for (const [pending, status, message] of cases) {
      const res = await pending;
      const body = (await res.json()) as { error: { message: string } };
      assert.equal(res.status, status, body.error.message);
      assert.match(body.error.message, message);
    }
    assert.equal(await count(), before);
  });

  it('refuses a slug that is already taken with 409', async () => {
    await post({ title: 'Unique', slug: 'unique-slug', body: 'a' });
    const res = await post({ title: 'Other', slug: 'unique-slug', body: 'b' });
    assert.equal(res.status, 409);
  });

  it('pushes new journal batches over the feed stream as they are committed', async () => {
    const head = Number((await db('cluster_state').first()).journal_head);
    const controller = new AbortController();
    const res = await fetch(`${app.url}/feed?after=${head}`, { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    const created = (await (await post({ title: 'Feed pushed', body: '<p>x</p>', status: 'published' })).json()) as {
      url: string;
    };
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += Buffer.from(value ?? new Uint8Array()).toString();
        return text.includes(created.url) ? true : undefined;
      },
      { what: 'the batch on the stream' },
    );
    controller.abort();
    assert.match(text, /event: hello/);
    assert.match(text, /event: batch/);
  });

  it('stores a body once however many pages share it, appended in write order (auto-increment key, sha256 unique)', async () => {
    const [keys] = (await db.raw('SHOW KEYS FROM blobs')) as [
      { Key_name: string; Column_name: string; Non_unique: number }[],
    ];
    assert.deepEqual(
      keys.filter((k) => k.Key_name === 'PRIMARY').map((k) => k.Column_name),
      ['id'],
    );
    assert.ok(
      keys.some((k) => k.Column_name === 'sha256' && Number(k.Non_unique) === 0),
      'sha256 stays unique',
    );
    const body = Buffer.from(`<p>shared body ${Date.now()}</p>`);
    const page = (path: string) => ({
      path,
      kind: 'article' as const,
      op: 'put' as const,
      body,
      contentType: 'text/html; charset=utf-8',
      lastModified: 1,
    });
    await db.transaction(async (trx) => writePages(trx, await lockJournal(trx), [page('/test/shared-a')], 1));
    await db.transaction(async (trx) =>
      writePages(trx, await lockJournal(trx), [page('/test/shared-b'), page('/test/shared-c')], 2),
    );
    const rows = await db('blobs')
      .where({ sha256: sha256Hex(body) })
      .select('size');
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0].size), body.length);
    assert.equal(
      await db('pages')
        .whereIn('path', ['/test/shared-a', '/test/shared-b', '/test/shared-c'])
        .where({ sha256: sha256Hex(body) })
        .count({ n: '*' })
        .first()
        .then((r) => Number(r?.n)),
      3,
    );
  });
});
