// A scheduled publication across `db promote`: scheduled on the old
// primary, due after replica1 was promoted, applied once on the new primary
// by the app that follows the promotion, and served by the mirror. Then the
// emergency case: the primary killed with kill -9 after the scheduling, the
// time passing while there is no primary, replica2 promoted: the change is
// applied once, with its scheduled instant as its publication date. Real
// MariaDB primary and replicas; only the clock is fake.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { promote } from '../../app/db/promote';
import { createDatabase, Database } from '../../common/db/database';
import { appUrl } from '../harness/mariadb';
import { waitFor } from '../harness/wait';
import { startFailoverSite, type FailoverSite } from './failover-site';
import { fakeClock } from '../support/fake-clock';

const HOUR = 3600_000;

describe('a scheduled publication across a promotion', () => {
  const clock = fakeClock();
  let site: FailoverSite;
  let newPrimary: Database | undefined;
  let lastPrimary: Database | undefined;

  before(async () => {
    site = await startFailoverSite({ semiSync: true, now: clock.now, env: { SCHEDULE_RECHECK_MS: '200' } });
  });
  after(async () => {
    await newPrimary?.destroy();
    await lastPrimary?.destroy();
    await site?.close();
  });

  async function api(method: string, path: string, body?: unknown) {
    const res = await fetch(`${site.app.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  test('is applied once on the promoted replica at its time and reaches the mirror', async () => {
    const publishAt = new Date(clock.now() + HOUR).toISOString();
    const created = await api('POST', '/api/articles', {
      title: 'Embargoed across a failover',
      body: '<p>Released at ten.</p>',
      publishAt,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = Number(created.json.id);
    const url = String(created.json.url);

    const result = await promote(site.access, 'replica1');
    assert.ok(result.executed);
    // The app follows the topology record to the new primary before the time comes.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await api('GET', `/api/articles/${id}`)).json.status, 'draft');
    assert.equal((await fetch(`${site.mirror.url}${url}`)).status, 404, 'nothing public before the time');

    clock.advance(HOUR);
    await waitFor(async () => (await api('GET', `/api/articles/${id}`)).json.status === 'published', {
      what: 'the publication applied after the promotion',
      timeoutMs: 20_000,
    });
    await site.waitOnMirror(url, 'Released at ten.');

    newPrimary = createDatabase(appUrl(site.node('replica1')));
    const row = await newPrimary('articles').where({ id }).first();
    assert.equal(row.status, 'published', 'written on the promoted node');
    assert.equal(Number(row.published_at), Date.parse(publishAt));
    await new Promise((r) => setTimeout(r, 800));
    const publishes = await newPrimary('revisions').where({ item_type: 'article', item_id: id, action: 'publish' });
    assert.equal(publishes.length, 1, 'applied exactly once');
  });

  test('survives the primary killed with kill -9 before its time: applied once on the promoted replica', async () => {
    const publishAt = new Date(clock.now() + HOUR).toISOString();
    const created = await api('POST', '/api/articles', {
      title: 'Embargoed across a crash',
      body: '<p>Released despite the crash.</p>',
      publishAt,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = Number(created.json.id);
    const url = String(created.json.url);
    lastPrimary = createDatabase(appUrl(site.node('replica2')));
    const replicated = lastPrimary;
    await waitFor(
      async () => Boolean(await replicated('articles').where({ id }).whereNotNull('publish_at').first('id')),
      {
        what: 'the schedule on replica2',
      },
    );

    await site.node('replica1').kill('SIGKILL');
    // The time passes while there is no primary: the scheduler's runs fail and are retried at each re-check.
    clock.advance(HOUR);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await replicated('articles').where({ id }).first('status')).status, 'draft');

    const result = await promote(site.access, 'replica2');
    assert.ok(result.executed);
    await waitFor(async () => (await replicated('articles').where({ id }).first('status')).status === 'published', {
      what: 'the publication applied on the promoted replica2',
      timeoutMs: 20_000,
    });
    await site.waitOnMirror(url, 'Released despite the crash.');
    const row = await replicated('articles').where({ id }).first();
    assert.equal(Number(row.published_at), Date.parse(publishAt), 'its publication date is the scheduled instant');
    assert.equal(row.publish_at, null);
    await new Promise((r) => setTimeout(r, 800));
    const publishes = await replicated('revisions').where({ item_type: 'article', item_id: id, action: 'publish' });
    assert.equal(publishes.length, 1, 'applied exactly once');
  });
});
