// Concurrent saves of new items with the same tags on MariaDB: each must be
// answered 201. A new item's tag links used to be replaced by a DELETE of
// its (absent) links first; under REPEATABLE READ that DELETE takes a gap
// lock at the end of `article_tags`, which every other new item's insert
// then waited on, so 16 writers deadlocked and were answered 500 (found by
// `npm run bench -- burst`, docs/benchmarks.md "Bursts").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedRedisUrl } from '../harness/shared';
import { api, Site, startSite } from './producer-helpers';

const WRITERS = 16;
const ROUNDS = 3;

describe('concurrent saves of tagged new articles', () => {
  let site: Site;

  before(async () => {
    site = await startSite('tagged_saves', await sharedRedisUrl(), { producer: false });
    const first = await api(site, 'POST', '/api/articles', {
      title: 'Tags exist',
      body: '<p>x</p>',
      tags: ['Harbour', 'Council'],
    });
    assert.equal(first.status, 201);
  });

  after(async () => {
    await site?.close();
  });

  it('answers every one of 16 simultaneous new articles with the same tags 201, and links each to both tags', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(
        Array.from({ length: WRITERS }, (_, i) =>
          api(site, 'POST', '/api/articles', {
            title: `Tagged ${round} ${i}`,
            body: '<p>x</p>',
            tags: ['Harbour', 'Council'],
          }),
        ),
      );
      for (const res of answers) {
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }
    assert.deepEqual(
      statuses.filter((s) => s !== 201),
      [],
    );
    const [{ n }] = await site.db('article_tags').count({ n: '*' });
    assert.equal(Number(n), 2 * (1 + WRITERS * ROUNDS));
  });

  it('answers 16 simultaneous new articles that all create the same new tag 201, with one tag row', async () => {
    const answers = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) =>
        keyed(site, `storm-${i}`, { title: `Storm ${i}`, body: '<p>x</p>', tags: ['Storm Ophelia'] }),
      ),
    );
    const statuses = await Promise.all(answers.map(async (res) => (await res.arrayBuffer(), res.status)));
    assert.deepEqual(
      statuses.filter((s) => s !== 201),
      [],
    );
    const tags = await site.db('tags').where({ slug: 'storm-ophelia' }).select('id');
    // A save run again after losing the race still stores its Idempotency-Key, once (app/db/idempotency.ts).
    const [{ keys }] = await site.db('idempotency_keys').where('idem_key', 'like', 'storm-%').count({ keys: '*' });
    assert.equal(Number(keys), WRITERS);
    const replay = await keyed(site, 'storm-0', { title: 'Storm 0', body: '<p>x</p>', tags: ['Storm Ophelia'] });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    await replay.arrayBuffer();
    assert.equal(tags.length, 1);
    const [{ n }] = await site.db('article_tags').where({ tag_id: tags[0].id }).count({ n: '*' });
    assert.equal(Number(n), WRITERS);
  });

  it("answers 16 simultaneous edits that replace their articles' tags 201, each keeping exactly its new tags", async () => {
    const created = await Promise.all(
      Array.from({ length: WRITERS }, async (_, i) => {
        const res = await api(site, 'POST', '/api/articles', {
          title: `Edit me ${i}`,
          body: '<p>x</p>',
          tags: ['Harbour'],
        });
        assert.equal(res.status, 201);
        return ((await res.json()) as { id: number }).id;
      }),
    );
    const answers = await Promise.all(
      created.map((id, i) => api(site, 'PUT', `/api/articles/${id}`, { tags: ['Council', `Ward ${i % 4}`] })),
    );
    const statuses = await Promise.all(answers.map(async (res) => (await res.arrayBuffer(), res.status)));
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    for (const id of created) {
      const [{ n }] = await site.db('article_tags').where({ article_id: id }).count({ n: '*' });
      assert.equal(Number(n), 2, `article ${id} has exactly its two new tags`);
    }
  });
});

/** POST /api/articles with an Idempotency-Key. */
function keyed(site: Site, key: string, body: unknown): Promise<Response> {
  return fetch(`${site.app.url}/api/articles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${site.token}`, 'idempotency-key': key },
    body: JSON.stringify(body),
  });
}
