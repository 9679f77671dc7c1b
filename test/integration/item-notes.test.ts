// Corrections and updates (docs/api.md, "Corrections and updates"): public
// notes render on the page with their times, set dateModified and the
// feeds' updated time, and are kept in the revision history; desk notes
// reach no public path (no page, listing, feed, sitemap, blob, nor
// /feed?after=0). Bad input is a 4xx naming the field and writes nothing.
// Real MariaDB, Redis and producer; only the clock is fake.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { monthOf } from '../../common/site-paths';
import { sharedRedisUrl } from '../harness/shared';
import { replayFeed } from '../support/feed-replay';
import { journalHead, page, settled } from './producer-helpers';
import { call, ScheduledSite, startScheduledSite } from './schedule-helpers';

const MINUTE = 60_000;

describe('corrections, updates and desk notes', () => {
  let site: ScheduledSite;
  let item: { id: number; url: string };

  before(async () => {
    site = await startScheduledSite('notes', await sharedRedisUrl(), { producer: true });
    const res = await call(site, 'POST', '/api/articles', {
      title: 'Pelican bridge reopens',
      summary: 'The bridge is open again.',
      body: '<p>The bridge reopened on Monday.</p>',
      section: 'news',
      tags: ['Transport'],
      status: 'published',
    });
    assert.equal(res.status, 201);
    item = { id: Number(res.json.id), url: String(res.json.url) };
    await settled(site.db);
  });

  after(async () => {
    await site?.close();
  });

  const note = (body: unknown, id = item.id) => call(site, 'POST', `/api/articles/${id}/notes`, body);

  it('renders public notes with their times, sets dateModified, and updates the feeds', async () => {
    const before = (await page(site.db, item.url))!.body;
    assert.doesNotMatch(before, /dateModified/);
    const correction = await note({ kind: 'correction', text: 'An earlier version said Tuesday.' });
    assert.equal(correction.status, 201, JSON.stringify(correction.json));
    assert.equal(correction.json.kind, 'correction');
    assert.equal(correction.json.author, 'editor1');
    site.clock.advance(10 * MINUTE);
    const update = await note({ kind: 'update', text: 'Buses run again from 6 am.' });
    assert.equal(update.status, 201);
    const desk = await note({ kind: 'desk', text: 'Desksecret: source is the mayor, do not name.' });
    assert.equal(desk.status, 201);
    await settled(site.db);

    const body = (await page(site.db, item.url))!.body;
    const iso = (ms: unknown) => new Date(Number(ms)).toISOString();
    // A page's <time> gives the local time in the site's zone (UTC here) to the second (producer/locale.ts).
    const zoned = (ms: unknown) => iso(ms).replace(/\.\d{3}Z$/, 'Z');
    assert.match(body, /<h2 id="notes-title">Corrections and updates<\/h2>/);
    assert.ok(
      body.includes(`<strong>Correction</strong>, <time datetime="${zoned(correction.json.at)}">`),
      'the correction with its time',
    );
    assert.ok(body.includes('An earlier version said Tuesday.'));
    assert.ok(body.includes(`<strong>Update</strong>, <time datetime="${zoned(update.json.at)}">`));
    assert.ok(body.includes(`Updated <time datetime="${zoned(update.json.at)}">`), 'the byline says when');
    assert.ok(body.includes(`"dateModified":"${iso(update.json.at)}"`), 'JSON-LD dateModified is the latest note');
    assert.ok(body.includes(`<meta property="article:modified_time" content="${iso(update.json.at)}">`));

    const atom = (await page(site.db, '/feeds/site.atom.xml'))!.body;
    const entry = /<entry>[\s\S]*?<\/entry>/.exec(atom.slice(atom.indexOf('Pelican bridge reopens') - 200))![0];
    assert.ok(entry.includes(`<updated>${iso(update.json.at)}</updated>`), 'the Atom entry is updated');
    assert.ok(atom.includes(`<updated>${iso(update.json.at)}</updated>\n<entry>`), 'and the feed with it');
    const rss = (await page(site.db, '/feeds/sections/news.rss.xml'))!.body;
    assert.ok(rss.includes(`<atom:updated>${iso(update.json.at)}</atom:updated>`), 'the RSS item is updated');
  });

  it('keeps desk notes off every public path, the feed mirrors replay included', async () => {
    const month = monthOf(site.clock.now());
    const paths = [
      item.url,
      '/',
      '/articles',
      `/articles/${month}`,
      '/sections/news',
      '/tags/transport',
      '/feeds/site.rss.xml',
      '/feeds/site.atom.xml',
      '/feeds/sections/news.atom.xml',
      '/feeds/tags/transport.rss.xml',
      '/sitemaps/articles-0.xml',
      '/sitemaps/news.xml',
    ];
    for (const path of paths) {
      const live = await page(site.db, path);
      assert.equal(live?.op, 'put', `${path} is live`);
      assert.ok(!live.body.includes('Desksecret'), `${path} shows no desk note`);
    }
    for (const row of await site.db('blobs').select('sha256', 'body'))
      assert.ok(!Buffer.from(row.body).toString().includes('Desksecret'), `blob ${row.sha256}`);
    const { text } = await replayFeed(site.app.url, await journalHead(site.db));
    const current = await site.db('pages').where({ path: item.url }).first('sha256');
    assert.ok(text.includes(current.sha256), 'the feed names the page with the public notes');
    assert.ok(!text.includes('Desksecret'), '/feed?after=0 carries no desk note');
    const stored = await site.db('render_state').select('state', 'card_html');
    assert.ok(!JSON.stringify(stored).includes('Desksecret'), 'nor does the render state');
  });

  it('lists every note to editors and keeps them in the revision history', async () => {
    const listed = await call(site, 'GET', `/api/articles/${item.id}/notes`);
    assert.deepEqual(
      (listed.json.notes as { kind: string }[]).map((n) => n.kind),
      ['correction', 'update', 'desk'],
    );
    const revisions = (await call(site, 'GET', `/api/articles/${item.id}/revisions`)).json.revisions as {
      action: string;
      reason: string;
      snapshot: { notes?: { kind: string; text: string }[] };
    }[];
    assert.deepEqual(
      revisions.slice(0, 3).map((r) => [r.action, r.reason, r.snapshot.notes?.length]),
      [
        ['note', 'desk note added', 3],
        ['note', 'update note added', 2],
        ['note', 'correction note added', 1],
      ],
    );
  });

  it('answers a retried note with the first answer, adding it once', async () => {
    const send = () =>
      fetch(`${site.app.url}/api/articles/${item.id}/notes`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${site.token}`,
          'idempotency-key': 'note-retry-1',
        },
        body: JSON.stringify({ kind: 'desk', text: 'Checked with the council.' }),
      });
    const first = await send();
    const second = await send();
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await second.json(), await first.json());
    assert.equal((await site.db('item_notes').where({ body: 'Checked with the council.' })).length, 1);
  });

  it('refuses bad notes with a 4xx naming the field and writes nothing', async () => {
    const draft = await call(site, 'POST', '/api/articles', { title: 'Heron draft', body: '<p>d</p>' });
    await settled(site.db);
    const state = async () =>
      JSON.stringify(
        await Promise.all(['item_notes', 'revisions', 'outbox', 'articles'].map((t) => site.db(t).select('*'))),
      );
    const before = await state();
    const cases: [unknown, number, string][] = [
      [{ text: 'no kind' }, 400, 'kind'],
      [{ kind: 'retraction', text: 'x' }, 400, 'kind'],
      [{ kind: 'correction' }, 400, 'text'],
      [{ kind: 'correction', text: '   ' }, 400, 'text'],
      [{ kind: 'correction', text: 'x'.repeat(2001) }, 400, 'text'],
      [{ kind: 'correction', text: 'bad \u001b char' }, 400, 'text'],
      [{ kind: 'update', text: 'x', at: '2026-12-07T10:00:00' }, 400, 'at'],
      [{ kind: 'update', text: 'x', at: new Date(site.clock.now() + 3600_000).toISOString() }, 400, 'at'],
      [{ kind: 'update', text: 'x', author: 'someone' }, 400, 'author'],
    ];
    for (const [body, status, field] of cases) {
      const res = await note(body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.json.error?.field, field, JSON.stringify(body));
    }
    const onDraft = await note({ kind: 'correction', text: 'too early' }, Number(draft.json.id));
    assert.equal(onDraft.status, 409);
    assert.equal(onDraft.json.error?.field, 'kind');
    assert.equal((await note({ kind: 'update', text: 'x' }, 999999)).status, 404);
    assert.equal(await state(), before, 'nothing was written');
    // A desk note may go on a draft.
    assert.equal((await note({ kind: 'desk', text: 'Wait for the photos.' }, Number(draft.json.id))).status, 201);
  });
});
