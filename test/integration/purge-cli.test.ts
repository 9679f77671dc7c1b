// `hyperstatic purge` against real MariaDB and Redis with a running app and
// producer: it takes an article page down (410, every old body purged from
// `blobs` and from the journal's history) and records why, who and when;
// bad input fails with a message naming the problem and changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { register, takeDown } from '../../bin/commands/purge';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { lockJournal, renderClock, writePages } from '../../producer/change-journal';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { runCommand, setEnv } from '../support/cli';
import { journalHead, page, save, settled, startSite, type Site } from './producer-helpers';

describe('hyperstatic purge', { timeout: 60_000 }, () => {
  let site: Site;
  let restoreEnv = () => {};

  before(async () => {
    site = await startSite('purge_cli', await sharedRedisUrl());
    restoreEnv = setEnv({
      DATABASE_URL: site.config.databaseUrl,
      REDIS_URL: site.config.redisUrl,
      REDIS_PREFIX: site.config.redisPrefix,
      LOG_LEVEL: 'silent',
    });
  });
  after(async () => {
    restoreEnv();
    await site?.close();
  });

  async function run(args: string[]): Promise<string> {
    return (await runCommand(register, ['purge', ...args])).out;
  }

  async function snapshot() {
    return {
      head: await journalHead(site.db),
      blobs: Number((await site.db('blobs').count({ n: '*' }))[0].n),
      takedowns: Number((await site.db('takedowns').count({ n: '*' }))[0].n),
      statuses: await site.db('articles').orderBy('id').pluck('status'),
    };
  }

  it('takes the page down, purges every body it had and records the reason, who and when', async () => {
    const { id, url } = await save(site, 'POST', '/api/articles', {
      title: 'Court case',
      body: '<p>first version</p>',
      status: 'published',
    });
    await settled(site.db);
    await save(site, 'PUT', `/api/articles/${id}`, { body: '<p>second version</p>' });
    await settled(site.db);
    const shas = await site.db('journal').where({ path: url, op: 'put' }).pluck('sha256');
    assert.equal(shas.length, 2);
    // Each body's compressed variants hold the same words: they are purged with it.
    const variants = (await site.db('journal').where({ path: url, op: 'put' }).select('gzip_sha256', 'br_sha256'))
      .flatMap((r: { gzip_sha256: string | null; br_sha256: string | null }) => [r.gzip_sha256, r.br_sha256])
      .filter((sha): sha is string => typeof sha === 'string');
    assert.equal(variants.length, 4, 'a gzip and a brotli variant of each version');

    const out = await run(['--path', url, '--reason', 'court order 123', '--by', 'legal-desk', '--json']);
    const result = JSON.parse(out) as { purged: string[]; head: number; item: { id: number } };
    assert.deepEqual([...result.purged].sort(), [...shas, ...variants].sort());
    assert.equal(result.item.id, id);
    assert.equal((await page(site.db, url))?.op, 'gone');
    assert.equal(
      await site
        .db('blobs')
        .whereIn('sha256', [...shas, ...variants])
        .first('sha256'),
      undefined,
    );
    assert.deepEqual(
      await site.db('journal').whereIn('sha256', shas).whereNot('op', 'purge').select('seq'),
      [],
      'no earlier entry names the old bodies',
    );
    const audit = await site.db('takedowns').where({ path: url }).first();
    assert.equal(audit.reason, 'court order 123');
    assert.equal(audit.actor, 'legal-desk');
    assert.equal(Number(audit.item_id), id);
    assert.ok(Number(audit.created_at) > Date.now() - 60_000);
    assert.equal((await site.db('articles').where({ id }).first('status')).status, 'hidden');
    const revision = await site.db('revisions').where({ item_id: id, action: 'hide' }).first('reason');
    assert.equal(revision.reason, 'takedown: court order 123');
  });

  it('taken down by a former address, the renamed article is hidden: its current page and every old address are gone', async () => {
    const { id, url: first } = await save(site, 'POST', '/api/articles', {
      title: 'Renamed then ordered down',
      body: '<p>words under an order</p>',
      status: 'published',
    });
    await settled(site.db);
    const { url: current } = await save(site, 'PUT', `/api/articles/${id}`, { slug: 'renamed-then-ordered-down-2' });
    await settled(site.db);
    assert.notEqual(current, first);
    assert.equal((await page(site.db, first))?.op, 'put', 'the old address is a redirect page');

    const result = JSON.parse(await run(['--path', first, '--reason', 'court order 456', '--json'])) as {
      item: { id: number };
    };
    assert.equal(result.item.id, id, 'the order names the item through its old address');
    assert.equal((await site.db('articles').where({ id }).first('status')).status, 'hidden');
    await settled(site.db);
    assert.equal((await page(site.db, first))?.op, 'gone');
    assert.equal((await page(site.db, current))?.op, 'gone', 'the current address is gone too');
  });

  it('refuses a missing reason, an unknown path and a page that is not an item, changing nothing', async () => {
    const { url } = await save(site, 'POST', '/api/articles', {
      title: 'Still here',
      body: '<p>fine</p>',
      status: 'published',
    });
    await settled(site.db);
    const before = await snapshot();
    await assert.rejects(run(['--path', url]), /--reason is required/);
    await assert.rejects(run(['--path', url, '--reason', '   ']), /--reason is required/);
    await assert.rejects(run(['--path', '/news/no-such-story', '--reason', 'x']), /no page at \/news\/no-such-story/);
    await assert.rejects(run(['--path', '/', '--reason', 'x']), /not an article or event page/);
    await assert.rejects(run(['--path', '../etc/passwd', '--reason', 'x']), /--path must be a public path/);
    assert.deepEqual(await snapshot(), before);
    assert.equal((await page(site.db, url))?.op, 'put');
  });
});

describe('hyperstatic purge against groups in flight', { timeout: 60_000 }, () => {
  it('a page rendered by a group that read the item before the takedown never replaces the tombstone', async () => {
    const site = await startSite('purge_race', await sharedRedisUrl(), { producer: false });
    try {
      const renderer = createRenderer(siteInfoOf(site.config));
      const { url } = await save(site, 'POST', '/api/articles', {
        title: 'Leaked memo',
        body: '<p>memo</p>',
        status: 'published',
      });
      const handler = createRenderJobHandler({
        db: site.db,
        renderer,
        notifier: createMemoryNotifier(),
        logger: createLogger('silent', 'test'),
        registry: new Registry(),
      });
      await handler({ topic: 'article', itemId: 0, outboxId: 0 });
      const visible = await site.db('pages').where({ path: url }).first('sha256', 'content_type', 'last_modified');
      const body = (await site.db('blobs').where({ sha256: visible.sha256 }).first('body')).body as Buffer;
      // A group whose listing step read the item before the hide holds this clock.
      const before = await renderClock(site.db);

      await takeDown({ db: site.db, renderer }, { path: url, reason: 'court order', actor: 'legal' });
      await site.db.transaction(async (trx) => {
        const lock = await lockJournal(trx);
        const stale = {
          path: url,
          kind: 'article' as const,
          op: 'put' as const,
          body: Buffer.from(body),
          contentType: String(visible.content_type),
          lastModified: Number(visible.last_modified),
          clock: before,
        };
        await writePages(trx, lock, [stale], Date.now());
      });
      assert.equal((await page(site.db, url))?.op, 'gone', 'still a tombstone');
      assert.equal(await site.db('blobs').where({ sha256: visible.sha256 }).first('sha256'), undefined);
    } finally {
      await site.close();
    }
  });
});
