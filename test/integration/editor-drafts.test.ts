// Autosave and paste cleaning over HTTP, as the editor's script uses them:
// an autosave is a draft revision that changes nothing public, typing on
// replaces it, the edit page offers it back (without JavaScript too), and
// every refusal is JSON naming the problem, with nothing saved: no session
// (401, so the script can say the session ended), a stale CSRF token, a
// moderator, a bad field.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('editor drafts: autosave and paste cleaning', () => {
  let origin: EditorOrigin;
  let editor: WebClient;
  let id: number;
  let csrf: string;

  const autosave = (web: WebClient, fields: Record<string, string>, token = csrf) =>
    web.request('POST', `/editor/articles/${id}/autosave`, new URLSearchParams(fields).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      'x-csrf-token': token,
      accept: 'application/json',
    });
  const autosaves = () => origin.db('revisions').where({ item_id: id, action: 'autosave' });

  before(async () => {
    origin = await startEditorOrigin('editor_drafts');
    editor = new WebClient(origin.url);
    await editor.login('editor1');
    await editor.get('/editor/articles/new');
    const created = await editor.post('/editor/articles', {
      _csrf: editor.csrf(),
      title: 'Tram line',
      body: '<p>Saved words</p>',
      status: 'published',
    });
    id = Number(/\/editor\/articles\/(\d+)/.exec(created.location ?? '')![1]);
    await editor.get(`/editor/articles/${id}`);
    csrf = editor.csrf();
  });

  after(() => origin?.close());

  it('records an autosave as a draft revision, sanitized, leaving the published item as it was', async () => {
    const outboxBefore = (await origin.db('outbox').count({ n: '*' }))[0].n;
    const res = await autosave(editor, { title: 'Tram line', body: '<p>Typed <script>x()</script>words</p>' });
    assert.equal(res.status, 200, res.text);
    const answer = JSON.parse(res.text) as { revision: number; savedAt: number };
    assert.ok(answer.revision > 0 && answer.savedAt > 0);
    const [row] = await autosaves();
    assert.equal(JSON.parse(row.snapshot).body, '<p>Typed words</p>');
    assert.equal(JSON.parse(row.snapshot).status, 'published');
    const item = await origin.db('articles').where({ id }).first();
    assert.equal(item.body, '<p>Saved words</p>');
    assert.equal((await origin.db('outbox').count({ n: '*' }))[0].n, outboxBefore, 'no render is owed');
  });

  it('replaces the same autosave while typing goes on, and offers it on the edit page', async () => {
    // A slug being typed ("tram-") is not the autosave's to check: the Save checks it.
    const typing = await autosave(editor, { title: 'Tram line', slug: 'tram-', body: '<p>Typed more words</p>' });
    assert.equal(typing.status, 200, typing.text);
    const rows = await autosaves();
    assert.equal(rows.length, 1);
    const page = await editor.get(`/editor/articles/${id}`);
    assert.match(page.text, new RegExp(`href="\\?autosave=${rows[0].number}"`));
    const loaded = await editor.get(`/editor/articles/${id}?autosave=${rows[0].number}`);
    assert.equal(loaded.status, 200);
    assert.match(loaded.text, /&lt;p&gt;Typed more words&lt;\/p&gt;<\/textarea>/);
    assert.equal((await origin.db('articles').where({ id }).first()).body, '<p>Saved words</p>');
  });

  it('keeps an autosave made before a save in the history, but offers only what came after the last save', async () => {
    await editor.get(`/editor/articles/${id}`);
    await editor.post(`/editor/articles/${id}`, { _csrf: editor.csrf(), title: 'Tram line', body: '<p>Final</p>' });
    assert.doesNotMatch((await editor.get(`/editor/articles/${id}`)).text, /autosave-offer/);
    await autosave(editor, { title: 'Tram line', body: '<p>After the save</p>' });
    assert.equal((await autosaves()).length, 2);
  });

  it('refuses with JSON naming the problem and saves nothing', async () => {
    const count = (await autosaves()).length;
    const stranger = await autosave(new WebClient(origin.url), { title: 'x', body: 'y' });
    assert.equal(stranger.status, 401);
    assert.match(JSON.parse(stranger.text).error, /session has ended/);
    const stale = await autosave(editor, { title: 'x', body: 'y' }, 'not-the-token');
    assert.equal(stale.status, 403);
    assert.equal(JSON.parse(stale.text).code, 'HS_CSRF');
    const empty = await autosave(editor, { title: '  ', body: 'y' });
    assert.equal(empty.status, 400);
    assert.equal(JSON.parse(empty.text).field, 'title');
    const moderator = new WebClient(origin.url);
    await moderator.login('mod1');
    await moderator.get(`/editor/articles/${id}`);
    const refused = await autosave(moderator, { title: 'x', body: 'y' }, moderator.csrf());
    assert.equal(refused.status, 403);
    const notAutosave = await editor.get(
      `/editor/articles/${id}?autosave=${(await origin.db('revisions').where({ item_id: id, action: 'create' }).first()).number}`,
    );
    assert.equal(notAutosave.status, 400);
    assert.match(notAutosave.text, /not an autosave/);
    assert.equal((await autosaves()).length, count);
  });

  it('cleans pasted HTML with the save sanitizer, for editors and on the public form', async () => {
    const dirty =
      '<p class="MsoNormal" style="color:red" onclick="x()">Hi <o:p></o:p><b>there</b></p><script>x()</script>';
    const pasted = await editor.request('POST', '/editor/paste', JSON.stringify({ html: dirty, _csrf: csrf }), {
      'content-type': 'application/json',
    });
    assert.equal(pasted.status, 200);
    assert.equal(JSON.parse(pasted.text).html, '<p>Hi <b>there</b></p>');
    const reader = new WebClient(origin.url);
    await reader.get('/submit');
    const anon = await reader.request('POST', '/submit/paste', JSON.stringify({ html: dirty, _csrf: reader.csrf() }), {
      'content-type': 'application/json',
    });
    assert.equal(anon.status, 200);
    const noToken = await reader.request('POST', '/submit/paste', JSON.stringify({ html: dirty }), {
      'content-type': 'application/json',
    });
    assert.equal(noToken.status, 403);
    const notText = await editor.request('POST', '/editor/paste', JSON.stringify({ html: 5, _csrf: csrf }), {
      'content-type': 'application/json',
    });
    assert.equal(notText.status, 400);
    assert.equal(JSON.parse(notText.text).field, 'html');
  });

  it('lists the media library for the toolbar, by kind, and refuses an unknown kind', async () => {
    const ok = await editor.get('/editor/media.json?kind=image');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.text), { media: [] });
    const bad = await editor.get('/editor/media.json?kind=pdf');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.text).field, 'kind');
  });
});
