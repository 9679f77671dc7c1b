// Articles through the editor's HTML forms (no JavaScript), against real
// MariaDB: create, preview, search, revisions and restore; hostile input is
// refused with a 4xx (or stored sanitized) and nothing else changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventPath } from '../../common/site-paths';
import { lockJournal, writePages } from '../../producer/change-journal';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

const HOSTILE_BODY = [
  '<p>Kept paragraph</p>',
  '<script>alert("s")</script>',
  '<img src="x" onerror="alert(1)">',
  '<a href="javascript:alert(2)">js link</a>',
  '<iframe src="https://evil.example/"></iframe>',
  '<svg><script>alert(3)</script><circle onload="alert(4)"/></svg>',
  '<p style="width: expression(alert(5)); background:url(javascript:alert(6))">styled</p>',
  '<div onclick="alert(7)">div</div>',
  '<object data="x.swf"></object><embed src="x.swf">',
  '<form action="https://evil.example"><input name="x"></form>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(8)>',
].join('\n');

describe('articles in the editor UI', () => {
  let origin: EditorOrigin;
  let web: WebClient;

  before(async () => {
    origin = await startEditorOrigin('editor_content');
    web = new WebClient(origin.url);
    await web.login('editor1');
  });
  after(async () => {
    await origin?.close();
  });

  async function newArticle(fields: Record<string, string | string[]>) {
    await web.get('/editor/articles/new');
    return web.post('/editor/articles', { _csrf: web.csrf(), intent: 'save', ...fields });
  }
  const count = async () => Number((await origin.db('articles').count({ n: '*' }))[0].n);

  it('creates an article from the form and records who did it in the history', async () => {
    const res = await newArticle({
      title: 'Council meets',
      summary: 'A summary',
      body: '<p>Body</p>',
      section: 'news',
      tags: 'Council, Budget',
      status: 'draft',
    });
    assert.equal(res.status, 303);
    const id = Number(/\/editor\/articles\/(\d+)/.exec(res.location!)![1]);
    const row = await origin.db('articles').where({ id }).first();
    assert.equal(row.slug, 'council-meets');
    assert.equal(row.status, 'draft');
    const revisions = await origin.db('revisions').where({ item_id: id });
    assert.equal(revisions.length, 1);
    assert.equal(revisions[0].action, 'create');
    const page = await web.get(res.location!);
    assert.equal(page.status, 200);
    assert.match(page.text, /Council meets/);
    assert.match(page.text, /#1 created<\/a>\s*by editor1/);
  });

  it('stores a hostile body without scripts, handlers, javascript: URLs, frames, SVG script or CSS expressions', async () => {
    const res = await newArticle({ title: 'Hostile body', body: HOSTILE_BODY, status: 'draft' });
    assert.equal(res.status, 303);
    const row = await origin.db('articles').where({ title: 'Hostile body' }).first('body');
    assert.match(row.body, /<p>Kept paragraph<\/p>/);
    for (const bad of [
      /<script/i,
      /onerror/i,
      /onload/i,
      /onclick/i,
      /javascript:/i,
      /<iframe/i,
      /<svg/i,
      /expression\(/i,
      /style=/i,
      /<object/i,
      /<embed/i,
      /<form/i,
      /<input/i,
      /<style/i,
      /alert\(/,
    ]) {
      assert.doesNotMatch(row.body, bad, `stored body must not contain ${bad}`);
    }
  });

  it('previews without saving, showing the sanitized body and escaping the title', async () => {
    const before = await count();
    await web.get('/editor/articles/new');
    const res = await web.post('/editor/articles', {
      _csrf: web.csrf(),
      intent: 'preview',
      title: '<img src=x onerror=alert(1)>Preview',
      body: '<p>shown</p><script>alert(1)</script>',
    });
    assert.equal(res.status, 200);
    assert.match(res.text, /<div class="body"><p>shown<\/p><\/div>/);
    assert.doesNotMatch(res.text, /<script>alert/);
    assert.doesNotMatch(res.text, /<img src=x onerror/);
    assert.match(res.text, /&lt;img src=x onerror=alert\(1\)&gt;Preview/);
    assert.equal(await count(), before, 'a preview stores nothing');
  });

  it('escapes a stored XSS title everywhere it is listed', async () => {
    await newArticle({ title: '"><script>alert(9)</script>', body: '<p>x</p>' });
    const list = await web.get('/editor/articles');
    assert.doesNotMatch(list.text, /<script>alert\(9\)/);
    assert.match(list.text, /&quot;&gt;&lt;script&gt;alert\(9\)&lt;\/script&gt;/);
  });

  it('does not reflect a search query unescaped', async () => {
    const res = await web.get(`/editor/articles?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.text, /<script>alert\(1\)/);
    const bad = await web.get(`/editor/articles?status=${encodeURIComponent('<script>')}`);
    assert.equal(bad.status, 400);
    assert.doesNotMatch(bad.text, /<script>/);
  });

  it('refuses overlong fields, unknown sections, bad tags and repeated fields with 400 and stores nothing', async () => {
    const before = await count();
    const cases: [Record<string, string | string[]>, RegExp][] = [
      [{ title: 'x'.repeat(301), body: '<p>x</p>' }, /title is longer than 300/],
      [{ title: 'Long summary', summary: 's'.repeat(1001), body: 'x' }, /summary is longer than 1000/],
      [{ title: 'Bad section', body: 'x', section: '../../etc' }, /section/],
      [{ title: 'Unknown section', body: 'x', section: 'nowhere' }, /unknown section/],
      [{ title: 'Bad tag', body: 'x', tags: 'ok, <b>bold</b>' }, /contains a character tags may not use/],
      [{ title: ['Two', 'titles'], body: 'x' }, /sent more than once/],
      [{ title: 'Bad status', body: 'x', status: 'deleted' }, /status must be one of/],
      [{ title: '   ', body: 'x' }, /title must not be empty/],
    ];
    for (const [fields, message] of cases) {
      const res = await newArticle(fields);
      assert.equal(res.status, 400, `expected 400 for ${JSON.stringify(fields).slice(0, 80)}`);
      assert.match(res.text, message);
    }
    assert.equal(await count(), before);
  });

  it('refuses a body over the size limit with 413 and stores nothing', async () => {
    const before = await count();
    const res = await newArticle({ title: 'Huge', body: 'x'.repeat(2 * 1024 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(await count(), before);
  });

  it('keeps the slug when the title changes, so old links keep working', async () => {
    const created = await newArticle({ title: 'Original title', body: '<p>v1</p>', status: 'published' });
    const url = created.location!.split('?')[0];
    await web.get(url);
    const saved = await web.post(url, {
      _csrf: web.csrf(),
      intent: 'save',
      title: 'A completely new title',
      body: '<p>v2</p>',
      status: 'published',
    });
    assert.equal(saved.status, 303);
    const row = await origin.db('articles').where({ title: 'A completely new title' }).first();
    assert.equal(row.slug, 'original-title');
  });

  it('restores an earlier revision as a new revision, keeping the history', async () => {
    const created = await newArticle({ title: 'Versioned', body: '<p>first version</p>', tags: 'One' });
    const url = created.location!.split('?')[0];
    const id = Number(url.split('/').pop());
    await web.get(url);
    await web.post(url, {
      _csrf: web.csrf(),
      intent: 'save',
      title: 'Versioned v2',
      body: '<p>second version</p>',
      tags: 'Two',
    });
    const [first] = await origin.db('revisions').where({ item_id: id }).orderBy('id').limit(1);
    await web.get(url);
    const restored = await web.post(`${url}/revisions/${first.number}/restore`, { _csrf: web.csrf(), confirm: 'yes' });
    assert.equal(restored.status, 303);
    const row = await origin.db('articles').where({ id }).first();
    assert.equal(row.title, 'Versioned');
    assert.equal(row.body, '<p>first version</p>');
    const history = await origin.db('revisions').where({ item_id: id }).orderBy('id');
    assert.deepEqual(
      history.map((r) => r.action),
      ['create', 'edit', 'restore'],
    );
    await web.get(url);
    const missing = await web.post(`${url}/revisions/999999/restore`, { _csrf: web.csrf(), confirm: 'yes' });
    assert.equal(missing.status, 404);
  });

  it('filters lists by status and searches, treating % and _ literally', async () => {
    await newArticle({ title: '100% wild_card', body: 'x', status: 'published' });
    const search = await web.get(`/editor/articles?q=${encodeURIComponent('100%')}`);
    assert.match(search.text, /100% wild_card/);
    assert.doesNotMatch(search.text, /Council meets/);
    const pct = await web.get(`/editor/articles?q=${encodeURIComponent('%')}`);
    assert.doesNotMatch(pct.text, /Council meets/, '% is not a wildcard');
    const drafts = await web.get('/editor/articles?status=draft');
    assert.match(drafts.text, /Council meets/);
    assert.doesNotMatch(drafts.text, /100% wild_card/);
  });

  it('shows a propagation panel with the render state of a saved article', async () => {
    const created = await newArticle({ title: 'Propagating', body: '<p>x</p>', status: 'published' });
    const page = await web.get(created.location!);
    assert.match(page.text, /id="propagation"/);
    assert.match(page.text, /saved; queued \d+ s|no mirror has reported/);
    const id = created.location!.split('?')[0].split('/').pop();
    const json = await web.get(`/editor/articles/${id}/propagation.json`);
    const body = JSON.parse(json.text) as { render: string; path: string };
    assert.match(body.path, /\/propagating$/);
    assert.ok(['queued', 'rendered'].includes(body.render));
  });

  it('creates and edits an event from the form; bad dates are refused with 400 and store nothing', async () => {
    await web.get('/editor/events/new');
    const csrf = web.csrf();
    const events = async () => Number((await origin.db('events').count({ n: '*' }))[0].n);
    const before = await events();
    for (const [fields, message] of [
      [{ startsAt: '2026-02-30T10:00' }, /not a real date/],
      [{ startsAt: 'tomorrow' }, /startsAt must be a date and time/],
      [{ startsAt: '2026-12-01T10:00', endsAt: '2026-12-01T09:00' }, /endsAt must not be before startsAt/],
    ] as [Record<string, string>, RegExp][]) {
      const res = await web.post('/editor/events', { _csrf: csrf, title: 'Open day', body: '<p>x</p>', ...fields });
      assert.equal(res.status, 400);
      assert.match(res.text, message);
    }
    assert.equal(await events(), before);
    const created = await web.post('/editor/events', {
      _csrf: csrf,
      title: 'Open day',
      location: 'Town hall',
      startsAt: '2026-12-01T10:00',
      endsAt: '2026-12-01T16:00',
      body: '<p>Come by</p><script>alert(1)</script><a href="javascript:alert(2)">x</a>',
      tags: 'Community',
      status: 'published',
    });
    assert.equal(created.status, 303);
    const row = await origin.db('events').where({ title: 'Open day' }).first();
    assert.equal(Number(row.starts_at), Date.parse('2026-12-01T10:00:00Z'));
    assert.doesNotMatch(row.body, /script|javascript:/);
    const page = await web.get(created.location!);
    assert.match(page.text, /value="2026-12-01T10:00"/);
    const list = await web.get('/editor/events');
    assert.match(list.text, /Open day/);
  });

  it('renames a tag, keeping its slug, and queues every tagged item for re-rendering; bad names are refused', async () => {
    await newArticle({ title: 'Tagged one', body: '<p>x</p>', tags: 'Harbour works', status: 'published' });
    await newArticle({ title: 'Tagged two', body: '<p>x</p>', tags: 'Harbour works' });
    const outboxBefore = Number((await origin.db('outbox').count({ n: '*' }))[0].n);
    await web.get('/editor/tags');
    const bad = await web.post('/editor/tags/harbour-works', { _csrf: web.csrf(), name: '<script>x</script>' });
    assert.equal(bad.status, 400);
    assert.equal((await origin.db('tags').where({ slug: 'harbour-works' }).first()).name, 'Harbour works');
    await web.get('/editor/tags');
    const ok = await web.post('/editor/tags/harbour-works', { _csrf: web.csrf(), name: 'Harbour redevelopment' });
    assert.equal(ok.status, 303);
    const tag = await origin.db('tags').where({ slug: 'harbour-works' }).first();
    assert.equal(tag.name, 'Harbour redevelopment');
    assert.equal(
      Number((await origin.db('outbox').count({ n: '*' }))[0].n),
      outboxBefore + 2,
      'one render per tagged article',
    );
    await web.get('/editor/tags');
    assert.equal((await web.post('/editor/tags/no-such-tag', { _csrf: web.csrf(), name: 'Whatever' })).status, 404);
  });

  it("shows the propagation panel on an event too, following the event's own page and outbox", async () => {
    await web.get('/editor/events/new');
    const created = await web.post('/editor/events', {
      _csrf: web.csrf(),
      intent: 'save',
      title: 'Harbour festival',
      startsAt: '2026-12-05T10:00',
      body: '<p>x</p>',
      status: 'published',
    });
    assert.equal(created.status, 303);
    const id = Number(/\/editor\/events\/(\d+)/.exec(created.location!)![1]);
    const url = eventPath((await origin.db('events').where({ id }).first('slug')).slug);
    const page = await web.get(`/editor/events/${id}`);
    assert.match(page.text, new RegExp(`id="propagation" data-url="/editor/events/${id}/propagation.json"`));
    assert.match(page.text, /saved; queued \d+ s/);

    // What the producer and two mirrors' reports leave behind: the render done, the page journaled, one mirror a version behind.
    await origin.db('outbox').where({ topic: 'event', item_id: id }).update({ done_at: Date.now() });
    const eventPage = {
      path: url,
      kind: 'article' as const,
      op: 'put' as const,
      body: Buffer.from('<p>Harbour festival</p>'),
      contentType: 'text/html; charset=utf-8',
      lastModified: Date.now(),
    };
    const { head } = await origin.db.transaction(async (trx) =>
      writePages(trx, await lockJournal(trx), [eventPage], Date.now()),
    );
    const report = {
      url: '',
      epoch: 1,
      head: head!,
      lag_entries: 0,
      lag_seconds: 0,
      connected: true,
      reported_at: Date.now(),
    };
    await origin.db('mirror_status').insert([
      { name: 'near', cursor: head!, ...report },
      { name: 'far', cursor: head! - 1, ...report },
    ]);
    try {
      const json = JSON.parse((await web.get(`/editor/events/${id}/propagation.json`)).text) as {
        path: string;
        render: string;
        seq: number;
        summary: string;
      };
      assert.equal(json.path, url);
      assert.equal(json.render, 'rendered');
      assert.equal(json.seq, head);
      assert.match(json.summary, /^live on 1\/2 mirrors, 1 lagging \d+ s$/);
      assert.match((await web.get(`/editor/events/${id}`)).text, /live on 1\/2 mirrors/);
      const api = await fetch(`${origin.url}/api/events/${id}/propagation`, {
        headers: { authorization: `Bearer ${origin.tokens.editor}` },
      });
      assert.equal(api.status, 200);
      assert.equal(((await api.json()) as { seq: number }).seq, head);
    } finally {
      await origin.db('mirror_status').whereIn('name', ['near', 'far']).delete();
    }
  });
});
