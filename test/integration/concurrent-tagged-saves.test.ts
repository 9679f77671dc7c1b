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
});
