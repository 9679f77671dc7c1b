// Open publishing and moderation against real MariaDB: the public form with
// its CSRF cookie, honeypot and per-address rate limit; held or published
// according to the site setting; moderators publish, hide with a reason kept
// in the history, and feature.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('open publishing and moderation', () => {
  let origin: EditorOrigin;
  let admin: WebClient;

  before(async () => {
    origin = await startEditorOrigin('editor_moderation');
    admin = new WebClient(origin.url);
    await admin.login('admin1');
  });
  after(async () => {
    await origin?.close();
  });
  beforeEach(async () => {
    // Each test starts with a fresh per-address allowance.
    await origin.db('submissions').update({ created_at: 0 });
  });

  async function setMode(mode: string) {
    await admin.get('/editor/settings');
    const res = await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: mode });
    assert.equal(res.status, 303);
  }
  async function submit(fields: Record<string, string>, web = new WebClient(origin.url)) {
    const form = await web.get('/submit');
    if (form.status !== 200) return form;
    return web.post('/submit', { _csrf: web.csrf(), website: '', ...fields });
  }
  const articles = async () => Number((await origin.db('articles').count({ n: '*' }))[0].n);

  it('holds an anonymous submission for moderation by default, sanitized, with no author', async () => {
    // The rich editor's HTML (bodyFormat=html, set by the form's script) is sanitized like an editor's save.
    const res = await submit({
      bodyFormat: 'html',
      title: 'Reader report',
      summary: 'From the street',
      body: '<p>Seen today</p><script>alert(1)</script><img src=x onerror=alert(2)>',
      tags: 'Street',
    });
    assert.equal(res.status, 201);
    assert.match(res.text, /waits for a moderator/);
    const row = await origin.db('articles').where({ title: 'Reader report' }).first();
    assert.equal(row.status, 'draft');
    assert.equal(row.author_id, null);
    assert.equal(row.featured, 0);
    assert.doesNotMatch(row.body, /script|onerror/);
    const queue = await admin.get('/editor/moderation');
    assert.match(queue.text, /Reader report/);
    const history = await origin.db('revisions').where({ item_id: row.id });
    assert.deepEqual(
      history.map((r) => r.action),
      ['submit'],
    );
  });

  it('takes plain text from the form without JavaScript: paragraphs kept, markup shown as typed', async () => {
    const res = await submit({
      bodyFormat: 'text',
      title: 'Bridge closed',
      body: 'The bridge is shut\r\nuntil Friday.\r\n\r\nUse the ferry <b>instead</b>.',
    });
    assert.equal(res.status, 201);
    const row = await origin.db('articles').where({ title: 'Bridge closed' }).first();
    assert.equal(
      row.body,
      '<p>The bridge is shut<br />until Friday.</p><p>Use the ferry &lt;b&gt;instead&lt;/b&gt;.</p>',
    );
    // An older form without the field is plain text too.
    assert.equal((await submit({ title: 'Ferry busy', body: 'One\n\nTwo' })).status, 201);
    assert.equal((await origin.db('articles').where({ title: 'Ferry busy' }).first()).body, '<p>One</p><p>Two</p>');
  });

  it('refuses an unknown body format with 400 naming bodyFormat, storing nothing', async () => {
    const before = await articles();
    const res = await submit({ bodyFormat: 'markdown', title: 'Odd format', body: 'x' });
    assert.equal(res.status, 400);
    assert.match(res.text, /bodyFormat must be text or html/);
    assert.equal(await articles(), before);
  });

  it('publishes submissions at once when the setting says so', async () => {
    await setMode('published');
    const res = await submit({ title: 'Instant report', body: '<p>Now</p>' });
    assert.equal(res.status, 201);
    assert.match(res.text, /is published at/);
    assert.equal((await origin.db('articles').where({ title: 'Instant report' }).first()).status, 'published');
    await setMode('held');
  });

  it('lets strangers choose words only: status, featured and slug fields are ignored', async () => {
    const res = await submit({ title: 'Sneaky', body: '<p>x</p>', status: 'published', featured: 'on', slug: 'home' });
    assert.equal(res.status, 201);
    const row = await origin.db('articles').where({ title: 'Sneaky' }).first();
    assert.equal(row.status, 'draft');
    assert.equal(row.featured, 0);
    assert.equal(row.slug, 'sneaky');
  });

  it('refuses a filled honeypot, a missing CSRF cookie and an empty body with 4xx, storing nothing', async () => {
    const before = await articles();
    const bot = await submit({ title: 'Buy pills', body: '<p>spam</p>', website: 'http://spam.example' });
    assert.equal(bot.status, 400);
    const noCookie = await new WebClient(origin.url).post('/submit', {
      _csrf: 'a'.repeat(32),
      title: 'Forged',
      body: '<p>x</p>',
    });
    assert.equal(noCookie.status, 403);
    const empty = await submit({ title: 'Nothing', body: '   ' });
    assert.equal(empty.status, 400);
    const overlong = await submit({ title: 't'.repeat(301), body: '<p>x</p>' });
    assert.equal(overlong.status, 400);
    // Control characters broke the site's feeds (docs/api.md, "Hostile input"): refused, naming the field.
    const control = await submit({ title: 'Bell \u0001 \u001b[31m', body: '<p>x</p>' });
    assert.equal(control.status, 400);
    assert.match(control.text, /title contains a control character \(U\+0001\)/);
    const nul = await submit({ title: 'Fine', summary: 'nul \u0000', body: '<p>x</p>' });
    assert.equal(nul.status, 400);
    assert.match(nul.text, /summary contains a control character/);
    const reflected = await submit({ title: '<script>alert("r")</script>', body: '   ' });
    assert.equal(reflected.status, 400);
    assert.doesNotMatch(reflected.text, /<script>alert\("r"\)/);
    assert.equal(await articles(), before);
  });

  it('rate limits submissions per address: the sixth within an hour gets 429', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await submit({ title: `Flood ${i}`, body: '<p>x</p>' })).status, 201);
    const before = await articles();
    const sixth = await submit({ title: 'Flood 6', body: '<p>x</p>' });
    assert.equal(sixth.status, 429);
    assert.ok(Number(sixth.headers.get('retry-after')) > 0);
    assert.equal(await articles(), before);
  });

  it('answers 404 for the public form when open publishing is off', async () => {
    await setMode('off');
    const web = new WebClient(origin.url);
    assert.equal((await web.get('/submit')).status, 404);
    const api = await fetch(`${origin.url}/api/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x', body: 'y' }),
    });
    assert.equal(api.status, 404);
    await setMode('held');
  });

  it('lets a moderator publish and hide a submission (featuring is for editors); hiding needs a reason, which the history keeps', async () => {
    const row = await origin.db('articles').where({ title: 'Reader report' }).first();
    const mod = new WebClient(origin.url);
    await mod.login('mod1');
    await mod.get('/editor/moderation');
    const noReason = await mod.post(`/editor/moderation/articles/${row.id}`, {
      _csrf: mod.csrf(),
      action: 'hide',
      reason: '',
    });
    assert.equal(noReason.status, 400);
    assert.equal((await origin.db('articles').where({ id: row.id }).first()).status, 'draft');
    await mod.get('/editor/moderation');
    const bogus = await mod.post(`/editor/moderation/articles/${row.id}`, { _csrf: mod.csrf(), action: 'erase' });
    assert.equal(bogus.status, 400);
    await mod.get('/editor/moderation');
    assert.equal(
      (await mod.post(`/editor/moderation/articles/${row.id}`, { _csrf: mod.csrf(), action: 'publish' })).status,
      303,
    );
    await mod.get('/editor/moderation');
    const featuring = await mod.post(`/editor/moderation/articles/${row.id}`, { _csrf: mod.csrf(), action: 'feature' });
    assert.equal(featuring.status, 403);
    assert.match(featuring.text, /featuring needs an editor or admin/);
    const editor = new WebClient(origin.url);
    await editor.login('editor1');
    await editor.get('/editor/moderation');
    assert.equal(
      (await editor.post(`/editor/moderation/articles/${row.id}`, { _csrf: editor.csrf(), action: 'feature' })).status,
      303,
    );
    let current = await origin.db('articles').where({ id: row.id }).first();
    assert.equal(current.status, 'published');
    assert.equal(Boolean(current.featured), true);
    assert.equal((await origin.db('submissions').where({ item_id: row.id }).first()).state, 'reviewed');
    await mod.get('/editor/moderation');
    assert.equal(
      (
        await mod.post(`/editor/moderation/articles/${row.id}`, {
          _csrf: mod.csrf(),
          action: 'hide',
          reason: 'Unverified claims',
        })
      ).status,
      303,
    );
    current = await origin.db('articles').where({ id: row.id }).first();
    assert.equal(current.status, 'hidden');
    const history = await origin
      .db('revisions')
      .leftJoin('users', 'users.id', 'revisions.user_id')
      .where({ item_id: row.id })
      .orderBy('revisions.id')
      .select('action', 'reason', 'users.name');
    assert.deepEqual(
      history.map((h) => [h.action, h.reason, h.name]),
      [
        ['submit', '', null],
        ['publish', '', 'mod1'],
        ['feature', '', 'editor1'],
        ['hide', 'Unverified claims', 'mod1'],
      ],
    );
    const page = await mod.get(`/editor/articles/${row.id}`);
    assert.match(page.text, /Unverified claims/);
  });

  it('refuses settings changes from non-admins and bad values', async () => {
    const editor = new WebClient(origin.url);
    await editor.login('editor1');
    await editor.get('/editor');
    assert.equal((await editor.post('/editor/settings', { _csrf: editor.csrf(), openPublishing: 'off' })).status, 403);
    await admin.get('/editor/settings');
    assert.equal(
      (await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: 'everything' })).status,
      400,
    );
    assert.equal((await origin.db('settings').where({ name: 'open_publishing' }).first()).value, 'held');
  });

  it('takes anonymous events too; a moderator hides one with a reason, once, even when the API call is retried', async () => {
    const before = Number((await origin.db('events').count({ n: '*' }))[0].n);
    const noDate = await submit({ kind: 'event', title: 'Street party', body: '<p>Music</p>' });
    assert.equal(noDate.status, 400);
    assert.match(noDate.text, /startsAt/);
    assert.equal(Number((await origin.db('events').count({ n: '*' }))[0].n), before);
    const res = await submit({
      kind: 'event',
      title: 'Street party',
      bodyFormat: 'html',
      body: '<p>Music</p><script>x()</script>',
      startsAt: '2026-12-24T18:00',
      location: 'Main square',
    });
    assert.equal(res.status, 201);
    assert.match(res.text, /event was received/);
    const row = await origin.db('events').where({ title: 'Street party' }).first();
    assert.equal(row.status, 'draft');
    assert.equal(row.body, '<p>Music</p>');
    const queue = await admin.get('/editor/moderation');
    assert.match(queue.text, new RegExp(`/editor/moderation/events/${row.id}`));
    for (let i = 0; i < 2; i++) {
      const hide = await fetch(`${origin.url}/api/moderation/events/${row.id}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${origin.tokens.moderator}`,
          'content-type': 'application/json',
          'idempotency-key': `hide-event-${row.id}`,
        },
        body: JSON.stringify({ action: 'hide', reason: 'Not a public event' }),
      });
      assert.equal(hide.status, 200);
    }
    assert.equal((await origin.db('events').where({ id: row.id }).first()).status, 'hidden');
    const history = await origin.db('revisions').where({ item_type: 'event', item_id: row.id }).orderBy('id');
    assert.deepEqual(
      history.map((h) => [h.action, h.reason]),
      [
        ['submit', ''],
        ['hide', 'Not a public event'],
      ],
    );
    const bogus = await fetch(`${origin.url}/api/moderation/users/1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${origin.tokens.moderator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'publish' }),
    });
    assert.equal(bogus.status, 400);
  });
});
