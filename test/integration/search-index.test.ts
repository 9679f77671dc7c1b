// The reader search index on MariaDB and Redis (docs/design.md, "Reader
// search"): a save puts its item's words into the index in the batch that
// journals its page, rewriting only the shards those words live in, under
// paths named by their content; unpublishing, hiding and deleting take the
// item out in the batch of its tombstone; an embargoed item is never in it;
// and a rebuild of a consistent index changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../common/hash';
import {
  docsFilePath,
  SEARCH_ROOT_PATH,
  searchTerms,
  shardOf,
  termShardPath,
  DOCS_PER_FILE,
} from '../../common/search-index-format';
import { rebuild } from '../../producer/rebuild';
import { createRenderer, siteInfoOf } from '../../producer/renderer';
import { sharedRedisUrl } from '../harness/shared';
import { assertConsistent, entriesAfter, journalHead, page, save, settled, Site, startSite } from './producer-helpers';

const SEARCH_FILE = /^\/(assets\/search\/|search\/)/;

describe('search index: kept by the producer with every batch', () => {
  let site: Site;

  before(async () => {
    site = await startSite('searchidx', await sharedRedisUrl());
  });
  after(async () => {
    await site?.close();
  });

  async function json(path: string): Promise<unknown> {
    const live = await page(site.db, path);
    assert.ok(live && live.op === 'put', `${path} is live`);
    return JSON.parse(live.body);
  }

  /** What the browser script does, read from the live pages: the links of the items holding `word`. */
  async function find(word: string): Promise<string[]> {
    const [term] = searchTerms(word);
    const root = (await json(SEARCH_ROOT_PATH)) as { shards: string[] };
    const hash = root.shards[shardOf(term)];
    if (!hash) return [];
    const shard = (await json(termShardPath(shardOf(term), hash))) as Record<string, number[]>;
    const postings = shard[term] ?? [];
    const urls: string[] = [];
    for (let i = 1; i < postings.length; i += 2) {
      const docs = (await json(docsFilePath(Math.floor(postings[i] / DOCS_PER_FILE)))) as Record<string, string[]>;
      urls.push(docs[String(postings[i])][0]);
    }
    return urls;
  }

  /** Every search file's body, to look for a word anywhere in the index. */
  async function searchBodies(): Promise<string> {
    const rows = await site.db('pages').where('op', 'put').select('path');
    const bodies: string[] = [];
    for (const r of rows)
      if (SEARCH_FILE.test(String(r.path))) bodies.push((await page(site.db, String(r.path)))!.body);
    return bodies.join('\n');
  }

  it('a published article is findable by a word of its body, in the batch that journals its page', async () => {
    const head = await journalHead(site.db);
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Harbour vote delayed',
      summary: 'Objections pile up',
      body: '<p>The quayside <em>Zwiebelturm</em> debate went on past midnight &amp; beyond.</p>',
      section: 'news',
      status: 'published',
    });
    await settled(site.db);
    assert.deepEqual(await find('zwiebelturm'), [saved.url]);
    assert.deepEqual(await find('ZWIEBELTÜRM'), [saved.url], 'case and diacritics folded');
    const entries = await entriesAfter(site.db, head);
    const batchOf = (path: string) => entries.find((e) => e.path === path)?.batch;
    assert.equal(batchOf(SEARCH_ROOT_PATH), batchOf(saved.url), 'the index changes in the batch of the page');
    const order = entries.map((e) => e.path);
    for (const e of entries)
      if (e.path.startsWith('/assets/search/'))
        assert.ok(order.indexOf(e.path) < order.indexOf(SEARCH_ROOT_PATH), 'shards before the root that names them');
  });

  it('names every shard by its content, and a save rewrites only the shards of its words', async () => {
    const root = (await json(SEARCH_ROOT_PATH)) as { docs: number; shards: string[] };
    for (const [shard, hash] of root.shards.entries()) {
      if (!hash) continue;
      const live = await page(site.db, termShardPath(shard, hash));
      assert.equal(sha256Hex(Buffer.from(live!.body)).slice(0, 12), hash);
    }
    const head = await journalHead(site.db);
    const title = 'Ferry timetable';
    const body = 'Morning sailings move';
    await save(site, 'POST', '/api/articles', { title, summary: '', body: `<p>${body}</p>`, status: 'published' });
    await settled(site.db);
    const written = (await entriesAfter(site.db, head)).filter((e) => e.path.startsWith('/assets/search/'));
    const shardsOfWords = new Set(searchTerms(`${title} ${body}`).map(shardOf));
    const puts = written.filter((e) => e.op === 'put').map((e) => Number(/terms-(\d+)-/.exec(e.path)![1]));
    assert.deepEqual(new Set(puts), shardsOfWords, 'exactly the shards of its words');
    assert.ok(
      written.filter((e) => e.op === 'delete').every((e) => shardsOfWords.has(Number(/terms-(\d+)-/.exec(e.path)![1]))),
      'the replaced files are deleted in the same batch',
    );
    const after = (await json(SEARCH_ROOT_PATH)) as { docs: number; shards: string[] };
    assert.equal(after.docs, root.docs + 1);
    const changed = after.shards.map((h, i) => (h !== root.shards[i] ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(new Set(changed), shardsOfWords);
  });

  it('unpublishing or hiding takes an article out of the index in the batch of its tombstone', async () => {
    for (const status of ['draft', 'hidden'] as const) {
      const word = `Quokkaparade${status}`;
      const saved = await save(site, 'POST', '/api/articles', {
        title: `Parade ${status}`,
        summary: 'x',
        body: `<p>${word}</p>`,
        status: 'published',
      });
      await settled(site.db);
      assert.deepEqual(await find(word), [saved.url]);
      const head = await journalHead(site.db);
      await save(site, 'PUT', `/api/articles/${saved.id}`, { status });
      await settled(site.db);
      assert.deepEqual(await find(word), [], `${status}: not findable`);
      assert.ok(!(await searchBodies()).includes(word.toLowerCase()), `${status}: the word is in no search file`);
      assert.ok(!(await searchBodies()).includes(saved.url), `${status}: the link is in no search file`);
      const postings = await site.db('search_postings').where('term', word.toLowerCase()).count({ n: '*' });
      assert.equal(Number(postings[0].n), 0, `${status}: no posting left in the database`);
      const entries = await entriesAfter(site.db, head);
      assert.equal(
        entries.find((e) => e.path === SEARCH_ROOT_PATH)?.batch,
        entries.find((e) => e.path === saved.url)?.batch,
        `${status}: with the tombstone`,
      );
    }
  });

  it('an embargoed article is in no search file before its time', async () => {
    const word = 'Okapiembargo';
    await save(site, 'POST', '/api/articles', {
      title: 'Embargoed budget',
      summary: 'x',
      body: `<p>${word}</p>`,
      publishAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    await settled(site.db);
    assert.ok(!(await searchBodies()).includes(word.toLowerCase()));
    assert.deepEqual(await find(word), []);
  });

  it('a rebuild leaves a consistent index unchanged, and drops an item deleted behind its back', async () => {
    await assertConsistent(site);
    const word = 'Narwhaldeleted';
    const saved = await save(site, 'POST', '/api/articles', {
      title: 'Deleted later',
      summary: 'x',
      body: `<p>${word}</p>`,
      status: 'published',
    });
    await settled(site.db);
    assert.deepEqual(await find(word), [saved.url]);
    // Deleted behind the producer's back (a restore, a manual fix): no outbox row, no render job.
    await site.db('articles').where({ id: saved.id }).delete();
    await rebuild({ db: site.db, renderer: createRenderer(siteInfoOf(site.config)), restart: true });
    assert.deepEqual(await find(word), []);
    assert.ok(!(await searchBodies()).includes(word.toLowerCase()));
  });
});
