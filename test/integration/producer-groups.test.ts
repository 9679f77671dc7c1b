// Coalesced rendering and producers that scale out, on MariaDB and real
// Redis (docs/design.md, "Publish path"): a burst rendered as one group
// equals the same saves rendered one at a time; racing producers never
// journal an older body after a newer one; a producer killed mid-group
// loses nothing; and no journal batch lets a mirror show an index before
// the pages it links.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { Database } from '../../common/db/database';
import { createMemoryNotifier } from '../../common/journal-notifier';
import { createLogger } from '../../common/logger';
import { startProducer } from '../../producer/main';
import { itemLinks, GroupResult } from '../../producer/render-group';
import { createRenderJobHandler } from '../../producer/render-job';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { assertConsistent, burst, page, save, settled, Site, startSite } from './producer-helpers';

const sites: Site[] = [];

async function open(name: string, options: { producer?: boolean; env?: Record<string, string> } = {}): Promise<Site> {
  const s = await startSite(name, await sharedRedisUrl(), options);
  sites.push(s);
  return s;
}

/** Renders every waiting save with a handler of its own (no queue): groups of at most `groupItems` items. */
async function renderWaiting(s: Site, groupItems: number): Promise<GroupResult[]> {
  const groups: GroupResult[] = [];
  const handler = createRenderJobHandler({
    db: s.db,
    renderer: createRenderer(siteInfoOf(s.config)),
    notifier: createMemoryNotifier(),
    logger: createLogger('silent', 'test'),
    registry: new Registry(),
    groupItems,
    onGroup: (g) => groups.push(g),
  });
  await handler({ topic: 'article', itemId: 0, outboxId: 0 });
  return groups;
}

/** What every public path serves: op and body hash. */
async function livePages(db: Database): Promise<Record<string, string>> {
  // A path deleted is not served: rendered one item at a time, each search shard version a later save
  // replaced is left as a 'delete' row (producer/search-index.ts), which a group never wrote.
  const rows = await db('pages').whereNot({ op: 'delete' }).orderBy('path').select('path', 'op', 'sha256');
  return Object.fromEntries(rows.map((r) => [String(r.path), `${r.op} ${r.sha256 ?? ''}`]));
}

/** Forgets everything rendered, so the same saves can be rendered again from scratch. */
async function forgetRenders(db: Database): Promise<void> {
  // Everything the producer derives from the items, the reader search index included (producer/search-index.ts).
  for (const table of [
    'journal',
    'pages',
    'blobs',
    'purged_blobs',
    'render_state',
    'index_entries',
    'index_buckets',
    'search_docs',
    'search_postings',
    'search_terms',
    'search_shards',
  ])
    await db(table).delete();
  await db('search_stats').update({ docs: 0 });
  await db('cluster_state').where({ id: 1 }).update({ journal_head: 0 });
  await db('outbox').update({ done_at: null, claimed_by: null, claimed_until: null });
}

/** Journal entries in seq order, with their bodies. */
async function journalWithBodies(db: Database) {
  const rows = await db('journal')
    .leftJoin('blobs', 'blobs.sha256', 'journal.sha256')
    .orderBy('journal.seq')
    .select('journal.seq', 'journal.batch', 'journal.path', 'journal.op', 'journal.kind', 'blobs.body');
  return rows.map((r) => ({
    seq: Number(r.seq),
    batch: Number(r.batch),
    path: String(r.path),
    op: String(r.op),
    kind: String(r.kind),
    body: r.body ? Buffer.from(r.body as Buffer) : undefined,
  }));
}

after(async () => {
  for (const s of sites) await s.close().catch(() => undefined);
});

describe('producer: coalesced groups', () => {
  it('a burst rendered as one group is identical, page for page, to the same saves rendered one item at a time', async () => {
    const s = await open('groupsame', { producer: false });
    const saved = await burst(s, 24, 4, 'Story');
    await save(s, 'PUT', `/api/articles/${saved[3].id}`, { title: 'Story 3, corrected', tags: ['T1', 'Fresh'] });
    await save(s, 'PUT', `/api/articles/${saved[5].id}`, { status: 'hidden' });
    await save(s, 'POST', '/api/events', {
      title: 'Harbour meeting',
      body: '<p>Agenda</p>',
      location: 'Town hall',
      startsAt: '2031-03-14T18:00:00Z',
      status: 'published',
    });
    const saves = Number((await s.db('outbox').count({ n: '*' }))[0].n);

    const together = await renderWaiting(s, 500);
    assert.equal(together.length, 1, 'every waiting save in one group');
    assert.equal(together[0].saves, saves);
    const asGroup = await livePages(s.db);
    const groupBatches = new Set((await journalWithBodies(s.db)).map((e) => e.batch)).size;

    await forgetRenders(s.db);
    const oneByOne = await renderWaiting(s, 1);
    assert.equal(oneByOne.length, saved.length + 1, 'one group per item');
    assert.deepEqual(await livePages(s.db), asGroup, 'the same bytes at every path');
    assert.equal(groupBatches, 1, 'the group was one journal batch');
    assert.equal(await page(s.db, saved[5].url), undefined, 'hidden before it was ever public: no page, no tombstone');
    assert.match((await page(s.db, '/tags/fresh'))!.body, /Story 3, corrected/);
  });

  it('a burst of new articles journals at most 3 pages per save', async () => {
    const s = await open('groupcost', { producer: false });
    await burst(s, 40, 4, 'Item');
    const groups = await renderWaiting(s, 500);
    const written = groups.reduce((n, g) => n + g.batch.written.length, 0);
    const saves = groups.reduce((n, g) => n + g.saves, 0);
    assert.equal(saves, 40);
    assert.ok(written / saves <= 3, `${written} pages journaled for ${saves} saves`);
  });
});

describe('producer: producers that scale out', () => {
  it('two producers racing on overlapping items never journal an older body after a newer one', async () => {
    // Groups of two items: the six items' saves spread over many groups on both producers.
    const s = await open('groupsrace', { env: { PRODUCER_GROUP_ITEMS: '2' } });
    const second = await startProducer(s.config, { logger: createLogger('silent', 'test') });
    try {
      const items = [];
      for (let n = 1; n <= 6; n++)
        items.push(
          await save(s, 'POST', '/api/articles', {
            title: `Item ${n} v0`,
            body: '<p>x</p>',
            status: 'published',
            section: 'news',
            tags: ['Shared'],
          }),
        );
      await Promise.all(
        items.map(async (item, n) => {
          for (let v = 1; v <= 8; v++)
            await save(s, 'PUT', `/api/articles/${item.id}`, { title: `Item ${n + 1} v${v}` });
        }),
      );
      await settled(s.db, 40_000);
      const entries = await journalWithBodies(s.db);
      const watched = new Set([
        '/',
        '/tags/shared',
        '/sections/news',
        '/feeds/site.rss.xml',
        ...items.map((i) => i.url),
      ]);
      const shown = new Map<string, Map<number, number[]>>();
      for (const e of entries) {
        if (!watched.has(e.path) || !e.body) continue;
        const versions = shown.get(e.path) ?? new Map<number, number[]>();
        for (const m of e.body.toString().matchAll(/Item (\d) v(\d+)</g))
          versions.set(Number(m[1]), [...(versions.get(Number(m[1])) ?? []), Number(m[2])]);
        shown.set(e.path, versions);
      }
      assert.ok(shown.get('/tags/shared'), 'the shared listing was journaled');
      for (const [p, versions] of shown)
        for (const [n, list] of versions) {
          const dedup = list.filter((v, i) => i === 0 || list[i - 1] !== v);
          assert.deepEqual(
            dedup,
            [...dedup].sort((a, b) => a - b),
            `${p} shows item ${n} only going forward: ${list}`,
          );
        }
      for (const p of ['/tags/shared', '/sections/news', '/'])
        for (let n = 1; n <= 6; n++) assert.match((await page(s.db, p))!.body, new RegExp(`Item ${n} v8<`), p);
      await assertConsistent(s);
    } finally {
      await second.close();
    }
  });

  it('mirrors never see an index before its pages: every item an index links is live once its batch applies', async () => {
    const s = await open('groupsorder', { env: { PRODUCER_GROUP_ITEMS: '5' } });
    const second = await startProducer(s.config, { logger: createLogger('silent', 'test') });
    try {
      const saved = await burst(s, 30, 4, 'Report');
      await Promise.all(saved.slice(0, 5).map((a) => save(s, 'PUT', `/api/articles/${a.id}`, { status: 'hidden' })));
      await settled(s.db, 40_000);
      const hidden = new Set(saved.slice(0, 5).map((a) => a.url));
      const entries = await journalWithBodies(s.db);
      const live = new Map<string, string>();
      const order = { media: 0, article: 1, index: 2, feed: 3 } as Record<string, number>;
      let checked = 0;
      for (let i = 0; i < entries.length;) {
        const batch = entries.filter((e) => e.batch === entries[i].batch);
        assert.deepEqual(
          batch.map((e) => e.seq),
          batch.map((_, k) => entries[i].seq + k),
          `batch ${entries[i].batch} is contiguous`,
        );
        const kinds = batch.filter((e) => e.op !== 'purge').map((e) => order[e.kind]);
        assert.deepEqual(kinds, [...kinds].sort(), `batch ${entries[i].batch}: content before indexes`);
        // A mirror applies a batch at once: links are checked against the copy after it.
        for (const e of batch) if (e.op !== 'purge') live.set(e.path, e.op);
        for (const e of batch)
          if (e.op === 'put' && e.body && (e.kind === 'index' || e.kind === 'feed'))
            for (const link of itemLinks(e.body)) {
              checked += 1;
              // A takedown rewrites a hidden page's history to its tombstone (docs/design.md, "Change journal").
              assert.equal(
                live.get(link),
                hidden.has(link) ? 'gone' : 'put',
                `${e.path} (batch ${e.batch}) links ${link}, which the mirror lacks`,
              );
            }
        i += batch.length;
      }
      assert.ok(checked > 50, `${checked} links checked`);
      for (const a of saved.slice(5)) assert.equal((await page(s.db, a.url))?.op, 'put');
      await assertConsistent(s);
    } finally {
      await second.close();
    }
  });
});
