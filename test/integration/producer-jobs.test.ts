// Render jobs under stress, on MariaDB and real Redis: rapid saves collapse,
// template errors are reported once and never half-written, several
// producers never write an older version over a newer one, a save made
// while Redis is dead is rendered when it returns, and a producer killed
// with SIGKILL mid-job loses nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { isUnrecoverable } from '../../common/queue/render-queue';
import { clusterStatus, formatStatus } from '../../bin/commands/status';
import { startProducer } from '../../producer/main';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer } from '../../producer/renderer';
import { startRedis } from '../harness/redis';
import { sharedRedisUrl } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { assertConsistent, entriesAfter, journalHead, page, save, settled, Site, startSite } from './producer-helpers';

const ROOT = path.resolve(__dirname, '../..');
const site = { name: 'Test', publicUrl: 'http://localhost:8080' };
const sites: Site[] = [];

async function open(name: string, redisUrl?: string, options: { producer?: boolean } = {}): Promise<Site> {
  const s = await startSite(name, redisUrl ?? (await sharedRedisUrl()), options);
  sites.push(s);
  return s;
}

describe('producer: reliable render jobs', () => {
  after(async () => {
    for (const s of sites) await s.close().catch(() => undefined);
  });

  it('rapid saves of one item collapse into one render', async () => {
    const s = await open('prodcollapse', undefined, { producer: false });
    const saved = await save(s, 'POST', '/api/articles', { title: 'Draft 0', body: '<p>x</p>', status: 'published' });
    for (let i = 1; i <= 5; i++) await save(s, 'PUT', `/api/articles/${saved.id}`, { title: `Draft ${i}` });
    await new Promise((r) => setTimeout(r, 300)); // the relay has queued a job per save
    s.producer = await startProducer(s.config, { logger: createLogger('silent', 'test') });
    await settled(s.db);
    const entries = (await entriesAfter(s.db, 0)).filter((e) => e.path === saved.url);
    assert.equal(entries.length, 1, 'six saves, one render of the article page');
    assert.match((await page(s.db, saved.url))!.body, /Draft 5/);
  });

  it('a template error is reported once, never retried, and writes nothing', async () => {
    const s = await open('prodbroken', undefined, { producer: false });
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-templates-'));
    fs.cpSync(path.join(ROOT, 'producer/templates'), broken, { recursive: true });
    fs.writeFileSync(
      path.join(broken, 'article.njk'),
      '{% extends "layout.njk" %}{% block content %}{{ article.title | nosuchfilter }}{% endblock %}',
    );
    try {
      const saved = await save(s, 'POST', '/api/articles', {
        title: 'Breaks the template',
        body: '<p>x</p>',
        status: 'published',
      });
      const head = await journalHead(s.db);
      const handler = createRenderJobHandler({
        db: s.db,
        renderer: createRenderer(site, broken),
        notifier: createMemoryNotifier(),
        logger: createLogger('silent', 'test'),
        registry: new Registry(),
      });
      const outboxId = Number((await s.db('outbox').where({ item_id: saved.id }).max({ m: 'id' }).first())?.m);
      const error = await handler({ topic: 'article', itemId: saved.id, outboxId }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isUnrecoverable(error), 'a template error is unrecoverable (bull discards it instead of retrying)');
      assert.match(String((error as Error).message), /template article.njk failed/);
      assert.equal(await journalHead(s.db), head, 'no page of the batch was written');
      assert.equal(await page(s.db, saved.url), undefined);
      assert.equal(
        await s.db('index_entries').where({ item_id: saved.id }).first(),
        undefined,
        'the listing index rolled back too',
      );
      const failure = await s.db('render_failures').where({ item_id: saved.id }).first();
      assert.match(failure.message, /template article.njk failed/);
      assert.equal(
        (await s.db('outbox').where({ item_id: saved.id }).whereNull('done_at')).length,
        0,
        'the relay will not dispatch it again',
      );
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });

  it('a render that failed for good is listed by `hyperstatic status` and counted in the producer metrics until the item renders again', async () => {
    const s = await open('prodfailedstatus', undefined, { producer: false });
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-templates-'));
    fs.cpSync(path.join(ROOT, 'producer/templates'), broken, { recursive: true });
    fs.writeFileSync(
      path.join(broken, 'article.njk'),
      '{% extends "layout.njk" %}{% block content %}{{ article.title | nosuchfilter }}{% endblock %}',
    );
    try {
      const registry = new Registry();
      const deps = { db: s.db, notifier: createMemoryNotifier(), logger: createLogger('silent', 'test'), registry };
      const saved = await save(s, 'POST', '/api/articles', {
        title: 'Breaks the template',
        body: '<p>x</p>',
        status: 'published',
      });
      const outboxId = async () =>
        Number((await s.db('outbox').where({ item_id: saved.id }).max({ m: 'id' }).first())?.m);
      const brokenHandler = createRenderJobHandler({ ...deps, renderer: createRenderer(site, broken) });
      await assert.rejects(
        brokenHandler({ topic: 'article', itemId: saved.id, outboxId: await outboxId() }),
        /template article\.njk failed/,
      );

      const status = await clusterStatus(s.config);
      assert.ok(status.failedRenders && !('error' in status.failedRenders), JSON.stringify(status.failedRenders));
      assert.equal(status.failedRenders.unresolved, 1);
      const [failure] = status.failedRenders.latest;
      assert.deepEqual(
        { ...failure, failedAt: typeof failure.failedAt },
        {
          topic: 'article',
          itemId: saved.id,
          slug: saved.slug,
          template: 'article.njk',
          error: failure.error,
          failedAt: 'string',
        },
      );
      assert.match(failure.error, /nosuchfilter/);
      const screen = formatStatus(status);
      assert.match(screen, /FAILED RENDERS {2}1 unresolved/);
      assert.match(screen, new RegExp(`article ${saved.id} +${saved.slug} +article\\.njk`));
      assert.match(await registry.metrics(), /hyperstatic_render_failures_unresolved 1\b/);
      assert.match(await registry.metrics(), /hyperstatic_render_jobs_total\{outcome="unrecoverable"\} 1\b/);

      // Fixed (here: the good templates) and saved again: the failure is resolved.
      await save(s, 'PUT', `/api/articles/${saved.id}`, { title: 'Renders again' });
      await createRenderJobHandler({ ...deps, registry: new Registry(), renderer: createRenderer(site) })({
        topic: 'article',
        itemId: saved.id,
        outboxId: await outboxId(),
      });
      const after = await clusterStatus(s.config);
      assert.deepEqual(after.failedRenders, { unresolved: 0, latest: [] });
      assert.match(formatStatus(after), /FAILED RENDERS {2}none/);
      assert.match(await registry.metrics(), /hyperstatic_render_failures_unresolved 0\b/);
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });

  it('several producers never render over a newer version with an older one', async () => {
    const s = await open('prodconcurrent');
    const second = await startProducer(s.config, { logger: createLogger('silent', 'test') });
    try {
      const items = [];
      for (const n of [1, 2, 3])
        items.push(
          await save(s, 'POST', '/api/articles', {
            title: `Item ${n} v0`,
            body: '<p>x</p>',
            status: 'published',
            tags: ['Shared'],
          }),
        );
      // Each item is saved ten times in a row; the items race each other.
      await Promise.all(
        items.map(async (item, n) => {
          for (let v = 1; v <= 10; v++)
            await save(s, 'PUT', `/api/articles/${item.id}`, { title: `Item ${n + 1} v${v}` });
        }),
      );
      await settled(s.db, 30_000);
      for (const [n, item] of items.entries()) {
        assert.match(
          (await page(s.db, item.url))!.body,
          new RegExp(`Item ${n + 1} v10<`),
          'the live page is the last save',
        );
        const versions: number[] = [];
        for (const e of (await entriesAfter(s.db, 0)).filter((x) => x.path === item.url)) {
          const sha = (await s.db('journal').where({ seq: e.seq }).first('sha256')).sha256;
          const body = Buffer.from((await s.db('blobs').where({ sha256: sha }).first('body')).body).toString();
          versions.push(Number(/Item \d+ v(\d+)</.exec(body)![1]));
        }
        assert.deepEqual(
          versions,
          [...versions].sort((a, b) => a - b),
          `journal versions of ${item.url} only go forward: ${versions.join(',')}`,
        );
      }
      const tagPage = (await page(s.db, '/tags/shared'))!.body;
      for (let n = 1; n <= 3; n++) assert.match(tagPage, new RegExp(`Item ${n} v10<`));
      await assertConsistent(s);
    } finally {
      await second.close();
    }
  });

  it('a save made while Redis is dead succeeds and is rendered when Redis returns', async () => {
    const redis = await startRedis();
    try {
      const s = await open('prodredis', redis.url);
      await waitFor(async () => (await fetch(`${s.app.url}/readyz`)).status === 200, {
        what: 'the app to reach Redis',
      });
      await redis.kill('SIGKILL');
      const res = await fetch(`${s.app.url}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
        body: JSON.stringify({ title: 'Saved during the outage', body: '<p>x</p>', status: 'published' }),
      });
      assert.equal(res.status, 201, 'the save is acknowledged: the outbox keeps the render');
      const saved = (await res.json()) as { url: string };
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await page(s.db, saved.url), undefined, 'nothing renders while the queue is gone');
      await redis.restart();
      await waitFor(() => page(s.db, saved.url), {
        what: 'the page rendered after Redis came back',
        timeoutMs: 30_000,
      });
      await settled(s.db, 30_000);
    } finally {
      await redis.stop();
    }
  });

  it('a producer killed with SIGKILL mid-job loses nothing: another one finishes the work', async () => {
    const s = await open('prodkill', undefined, { producer: false });
    const saved = [];
    for (let i = 0; i < 40; i++)
      saved.push(
        await save(s, 'POST', '/api/articles', {
          title: `Story ${i}`,
          body: `<p>${'words '.repeat(200)}</p>`,
          status: 'published',
          tags: [`T${i % 7}`],
          section: 'news',
        }),
      );
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin/hyperstatic.js'), 'producer', '--port', '0', '--concurrency', '1'],
      {
        env: {
          ...process.env,
          DATABASE_URL: s.config.databaseUrl,
          REDIS_URL: s.config.redisUrl,
          REDIS_PREFIX: s.config.redisPrefix,
          LOG_LEVEL: 'silent',
          // Small groups: the burst takes several, so the kill lands with work left.
          PRODUCER_GROUP_ITEMS: '4',
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // Mid-work: some renders committed, others not yet.
      await waitFor(async () => (await journalHead(s.db)) > 0, {
        what: 'the child producer to commit a render',
        timeoutMs: 30_000,
      });
      child.kill('SIGKILL');
      await exited;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const pending = Number((await s.db('outbox').whereNull('done_at').count({ n: '*' }))[0].n);
    assert.ok(pending > 0, 'the producer died with work left');
    s.producer = await startProducer(s.config, { logger: createLogger('silent', 'test') });
    await settled(s.db, 40_000);
    for (const item of saved) assert.equal((await page(s.db, item.url))?.op, 'put', `${item.url} is published`);
    await assertConsistent(s);
  });
});
