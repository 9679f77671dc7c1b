// A full rebuild beside render groups (docs/design.md, "Invariants"): the
// rebuild takes the render clock like a group's listing step, so a group's
// page rendered from a snapshot before the rebuild, journaled after it,
// cannot replace the rebuild's newer page.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { renderClock, writeBatch, type RenderedPage } from '../../producer/change-journal';
import { HTML } from '../../producer/page-renderer';
import { rebuild } from '../../producer/rebuild';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { save, Site, startSite } from './producer-helpers';

const sites: Site[] = [];

after(async () => {
  for (const s of sites) await s.close().catch(() => undefined);
});

describe('producer: a rebuild beside render groups', () => {
  it('takes the render clock: pages a group rendered before it cannot replace the rebuild’s', async () => {
    const s = await startSite('rebuildclock', await sharedRedisUrl(), { producer: false });
    sites.push(s);
    const saved = await save(s, 'POST', '/api/articles', {
      title: 'Clock story',
      body: '<p>Body</p>',
      section: 'news',
      status: 'published',
    });
    const renderer = createRenderer({ name: s.config.siteName, publicUrl: s.config.publicUrl });
    const handler = createRenderJobHandler({
      db: s.db,
      renderer,
      notifier: createMemoryNotifier(),
      logger: createLogger('silent', 'test'),
      registry: new Registry(),
    });
    await handler({ topic: 'article', itemId: saved.id, outboxId: 0 });
    // What a group that read the site before the rebuild would journal after it.
    const before = await renderClock(s.db);
    const stale = (path: string, kind: RenderedPage['kind']): RenderedPage => ({
      path,
      kind,
      op: 'put',
      body: Buffer.from(`<!doctype html><title>stale ${path}</title>`),
      contentType: HTML,
      lastModified: Date.now(),
      clock: before,
    });

    const result = await rebuild({ db: s.db, renderer });
    assert.equal(result.completed, true);
    const live = async (path: string) => s.db('pages').where({ path }).first('rendered_clock', 'sha256');
    const home = await live('/');
    const article = await live(saved.url);
    assert.ok(Number(home.rendered_clock) > before, 'the rebuild’s home page holds a later clock');
    assert.ok(Number(article.rendered_clock) > before, 'the rebuild’s article page holds a later clock');

    const late = await writeBatch(s.db, [stale(saved.url, 'article'), stale('/', 'index')], { now: Date.now() });
    assert.deepEqual(late.superseded.sort(), [saved.url, '/'].sort());
    assert.equal((await live('/')).sha256, home.sha256);
    assert.equal((await live(saved.url)).sha256, article.sha256);
  });
});
