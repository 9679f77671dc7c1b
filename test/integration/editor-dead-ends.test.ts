// No dead ends (issue 16): every refused form comes back to its form (or
// list), with a 4xx, the problem named in a summary linked to its field, and
// what was typed kept; nothing is saved. Driven like a browser without
// JavaScript against real MariaDB: hiding without a reason, bad uploads
// (wrong type, too large, not decodable), a form whose token expired while
// the session lives, a session that ended, and the public form.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { SESSION_COOKIE } from '../../app/auth/sessions';
import { sha256Hex } from '../../common/hash';
import { EditorOrigin, Page, startEditorOrigin, WebClient } from './editor-helpers';

const LIMIT = 64 * 1024;
const EXPIRED = /your session form expired: check it and submit again/;

/** Nunjucks' escaping undone, for reading a value back out of a page. */
const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The fields of the page's form posting to `action`, as a browser would send them unchanged. */
function formFields(page: Page, action: string): Record<string, string[]> {
  const start = page.text.indexOf(`action="${action}"`);
  assert.ok(start >= 0, `a form posting to ${action}`);
  const form = page.text.slice(start, page.text.indexOf('</form>', start));
  const fields: Record<string, string[]> = {};
  for (const m of form.matchAll(/<input[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"/g))
    (fields[unescape(m[1])] ??= []).push(unescape(m[2]));
  for (const m of form.matchAll(/<textarea[^>]*\bname="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g))
    (fields[unescape(m[1])] ??= []).push(unescape(m[2]));
  return fields;
}

/** The page names its problem in the error summary, linked to the field, which points back to it. */
function assertNamedAt(page: Page, field: string, message: RegExp) {
  const summary = /<div class="error" role="alert" id="error-summary">([\s\S]*?)<\/div>/.exec(page.text)?.[1];
  assert.ok(summary, 'an error summary');
  assert.match(summary, message);
  const target = field === 'body' ? 'body' : `f-${field}`;
  assert.match(summary, new RegExp(`<a href="#${target}">`), `the summary links to the ${field} field`);
  assert.match(page.text, new RegExp(`id="${target}"`), 'the field the summary links to');
  if (field !== 'body')
    assert.match(page.text, new RegExp(`id="${target}"[^>]*aria-invalid="true" aria-describedby="error-summary"`));
}

describe('no dead ends in the editor forms', () => {
  let origin: EditorOrigin;
  let web: WebClient;

  before(async () => {
    origin = await startEditorOrigin('editor_dead_ends', { MEDIA_MAX_BYTES: String(LIMIT) });
    web = new WebClient(origin.url);
    await web.login('editor1');
  });
  after(async () => {
    await origin?.close();
  });

  const articles = async () => Number((await origin.db('articles').count({ n: '*' }))[0].n);
  async function article(title: string): Promise<number> {
    await web.get('/editor/articles/new');
    const res = await web.post('/editor/articles', {
      _csrf: web.csrf(),
      title,
      summary: 'S',
      body: '<p>first</p>',
      status: 'published',
      tags: '',
    });
    assert.equal(res.status, 303);
    return Number(/\/editor\/articles\/(\d+)/.exec(res.location!)![1]);
  }

  it('hiding without a reason comes back to the queue (its filter kept) or the item page, naming the reason field; nothing is hidden', async () => {
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get('/editor/settings');
    await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: 'published' });
    const reader = new WebClient(origin.url);
    await reader.get('/submit');
    const submitted = await reader.post('/submit', {
      _csrf: reader.csrf(),
      title: 'To be hidden',
      body: 'Text',
      website: '',
    });
    assert.equal(submitted.status, 201);
    const id = Number((await origin.db('articles').where({ title: 'To be hidden' }).first()).id);
    const mod = new WebClient(origin.url);
    await mod.login('mod1');
    await mod.get('/editor/moderation?state=all');
    const fromQueue = await mod.post(`/editor/moderation/articles/${id}`, {
      _csrf: mod.csrf(),
      state: 'all',
      action: 'hide',
      reason: '   ',
    });
    assert.equal(fromQueue.status, 400);
    assertNamedAt(fromQueue, 'reason', /hiding needs a reason/);
    assert.match(fromQueue.text, /href="\/editor\/moderation\?state=all" aria-current="page"/, 'the same filter');
    assert.match(fromQueue.text, /id="f-reason" value=" {3}" aria-invalid="true"/, 'the reason as typed, on its item');

    await web.get(`/editor/articles/${id}`);
    const fromItem = await web.post(`/editor/moderation/articles/${id}`, {
      _csrf: web.csrf(),
      back: 'item',
      action: 'hide',
      reason: '',
    });
    assert.equal(fromItem.status, 400);
    assertNamedAt(fromItem, 'reason', /hiding needs a reason/);
    assert.match(fromItem.text, /<h1>[^<]*To be hidden|value="To be hidden"/, "the item's own page");
    assert.equal((await origin.db('articles').where({ id }).first()).status, 'published', 'nothing hidden');

    // A reason too long is kept as typed (up to the field's length) for shortening.
    await web.get(`/editor/articles/${id}`);
    const long = await web.post(`/editor/moderation/articles/${id}`, {
      _csrf: web.csrf(),
      back: 'item',
      action: 'hide',
      reason: 'Unverified '.repeat(50),
    });
    assert.equal(long.status, 400);
    assert.match(long.text, /value="(Unverified ){40}/);
    assert.equal((await origin.db('articles').where({ id }).first()).status, 'published');
  });

  describe('bad uploads come back to the library, naming the file field, storing nothing', () => {
    async function upload(name: string, bytes: Buffer, type = 'application/octet-stream') {
      await web.get('/editor/media?kind=image');
      const form = new FormData();
      form.append('_csrf', web.csrf());
      form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
      return web.request('POST', '/editor/media?kind=image', form);
    }
    const mediaRows = async () => Number((await origin.db('media').count({ n: '*' }))[0].n);

    it('a file of the wrong type: 415', async () => {
      const res = await upload('notes.png', Buffer.from('plain text, not an image at all\n'.repeat(20)), 'image/png');
      assert.equal(res.status, 415);
      assertNamedAt(res, 'file', /./);
      assert.match(res.text, /<h1>Media library<\/h1>/);
      assert.match(res.text, /href="\/editor\/media\?kind=image" aria-current="page"/, 'the same filter');
      assert.equal(await mediaRows(), 0);
    });

    it('a file over the limit: 413', async () => {
      const big = await sharp({
        create: {
          width: 400,
          height: 400,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 60 },
        },
      })
        .png()
        .toBuffer();
      assert.ok(big.length > LIMIT);
      const res = await upload('big.png', big, 'image/png');
      assert.equal(res.status, 413);
      assertNamedAt(res, 'file', /larger than/);
      assert.equal(await mediaRows(), 0);
    });

    it('an image that does not decode: 415', async () => {
      const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#3a3' } })
        .png()
        .toBuffer();
      const broken = Buffer.concat([png.subarray(0, 64), Buffer.alloc(400, 7)]);
      const res = await upload('broken.png', broken, 'image/png');
      assert.equal(res.status, 415);
      assertNamedAt(res, 'file', /does not decode/);
      assert.equal(await mediaRows(), 0);
    });

    it('an upload whose token expired: 403, with a fresh token that then works', async () => {
      const form = new FormData();
      form.append('_csrf', 'x'.repeat(32));
      form.append('file', new Blob([new Uint8Array(Buffer.from('abc'))]), 'a.png');
      const res = await web.request('POST', '/editor/media', form);
      assert.equal(res.status, 403);
      assertNamedAt(res, 'file', EXPIRED);
      assert.notEqual(web.csrf(), 'x'.repeat(32));
      assert.equal(await mediaRows(), 0);
    });
  });

  it('an article form whose token expired (logged in again elsewhere) comes back with the text typed and a fresh token; saving it then works', async () => {
    const id = await article('Before the expiry');
    const before = await articles();
    await web.get(`/editor/articles/${id}`);
    const stale = web.csrf();
    // Logging in again (another tab) gives the browser a new session, whose token the open form does not carry.
    const otherTab = new WebClient(origin.url);
    await otherTab.login('editor1');
    web.cookies.set(SESSION_COOKIE, otherTab.cookies.get(SESSION_COOKIE)!);
    const text = '<p>Two hours of typing, "quoted" & kept</p>';
    const res = await web.post(`/editor/articles/${id}`, {
      _csrf: stale,
      title: 'After the expiry',
      summary: 'S',
      body: text,
      status: 'published',
      tags: 'kept',
    });
    assert.equal(res.status, 403);
    assert.match(res.text, EXPIRED);
    const fields = formFields(res, `/editor/articles/${id}`);
    assert.deepEqual(fields.title, ['After the expiry']);
    assert.deepEqual(fields.body, [text]);
    assert.deepEqual(fields.tags, ['kept']);
    assert.notEqual(fields._csrf[0], stale, 'a fresh token');
    const row = await origin.db('articles').where({ id }).first();
    assert.equal(row.title, 'Before the expiry', 'nothing saved');
    assert.equal(await articles(), before);

    const again = await web.post(`/editor/articles/${id}`, { ...fields, status: 'published' });
    assert.equal(again.status, 303);
    assert.equal((await origin.db('articles').where({ id }).first()).title, 'After the expiry');
  });

  it('a form opened before someone else moved the article or changed its byline saves its own edit without undoing theirs', async () => {
    const id = await article('Opened before the move');
    const form = await web.get(`/editor/articles/${id}`);
    const fields = formFields(form, `/editor/articles/${id}`);
    assert.deepEqual(fields.slugWas, [fields.slug[0]], 'the form says which address it showed');
    const moved = await fetch(`${origin.url}/api/articles/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${origin.tokens.admin}` },
      body: JSON.stringify({ slug: 'moved-by-the-desk', authors: ['admin1'] }),
    });
    assert.equal(moved.status, 200, await moved.text());
    const res = await web.post(`/editor/articles/${id}`, { ...fields, summary: 'A summary typed meanwhile' });
    assert.equal(res.status, 303);
    const row = await origin.db('articles').where({ id }).first('slug', 'summary');
    assert.equal(row.summary, 'A summary typed meanwhile', 'its own edit is saved');
    assert.equal(row.slug, 'moved-by-the-desk', 'the move stands');
    const authors = await origin
      .db('item_authors')
      .join('users', 'users.id', 'item_authors.user_id')
      .where({ topic: 'article', item_id: id })
      .pluck('users.name');
    assert.deepEqual(authors, ['admin1'], 'the byline change stands');
  });

  it('a section refused (a taken slug) comes back to the sections page naming the slug, name and slug kept', async () => {
    await web.get('/editor/sections');
    const res = await web.post('/editor/sections', { _csrf: web.csrf(), name: 'Second news', slug: 'news' });
    assert.equal(res.status, 409);
    assertNamedAt(res, 'slug', /already exists/);
    assert.deepEqual(formFields(res, '/editor/sections').name, ['Second news']);
    assert.deepEqual(formFields(res, '/editor/sections').slug, ['news']);
    assert.equal(await origin.db('sections').where({ name: 'Second news' }).first(), undefined);
  });

  it('a tag rename refused comes back to the tags page naming the field on that tag, the name as typed', async () => {
    await web.get('/editor/articles/new');
    await web.post('/editor/articles', { _csrf: web.csrf(), title: 'Tagged', body: '<p>x</p>', tags: 'Harbour' });
    await web.get('/editor/tags');
    const res = await web.post('/editor/tags/harbour', { _csrf: web.csrf(), name: 'Harbour <b>' });
    assert.equal(res.status, 400);
    assertNamedAt(res, 'name', /./);
    assert.match(res.text, /value="Harbour &lt;b&gt;"[^>]*id="f-name"/);
    assert.equal((await origin.db('tags').where({ slug: 'harbour' }).first()).name, 'Harbour');
  });

  it('the users, tokens and settings forms come back named at their field, the name and label kept, nothing changed', async () => {
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    const users = async () => Number((await origin.db('users').count({ n: '*' }))[0].n);
    const before = await users();

    await admin.get('/editor/users');
    const taken = await admin.post('/editor/users', {
      _csrf: admin.csrf(),
      name: 'editor1',
      role: 'moderator',
      password: 'a long enough password 1',
    });
    assert.equal(taken.status, 409);
    assertNamedAt(taken, 'new-name', /already exists/);
    assert.match(taken.text, /id="f-new-name" value="editor1"/, 'the name as typed');
    assert.match(taken.text, /<option selected>moderator<\/option>/, 'the role as chosen');
    assert.doesNotMatch(taken.text, /a long enough password 1/, 'never the password');

    const weak = await admin.post('/editor/users', {
      _csrf: admin.csrf(),
      name: 'newcomer',
      role: 'editor',
      password: 'short',
    });
    assert.equal(weak.status, 400);
    assertNamedAt(weak, 'new-password', /./);
    assert.match(weak.text, /id="f-new-name" value="newcomer"/);
    assert.equal(await users(), before, 'no user created');

    const hashBefore = (await origin.db('users').where({ name: 'editor1' }).first('password_hash')).password_hash;
    const reset = await admin.post('/editor/users/editor1/password', { _csrf: admin.csrf(), password: 'short' });
    assert.equal(reset.status, 400);
    assertNamedAt(reset, 'password-editor1', /^[\s\S]*editor1: /);
    const role = await admin.post('/editor/users/editor1/role', { _csrf: admin.csrf(), role: 'overlord' });
    assert.equal(role.status, 400);
    assertNamedAt(role, 'role-editor1', /role must be one of/);
    const after = await origin.db('users').where({ name: 'editor1' }).first('password_hash', 'role');
    assert.equal(after.password_hash, hashBefore, 'the password unchanged');
    assert.equal(after.role, 'editor', 'the role unchanged');

    await admin.get('/editor/account');
    const tokens = Number((await origin.db('api_tokens').count({ n: '*' }))[0].n);
    const label = `import ${'x'.repeat(120)}`;
    const long = await admin.post('/editor/tokens', { _csrf: admin.csrf(), label });
    assert.equal(long.status, 400);
    assertNamedAt(long, 'label', /longer than 100 characters/);
    assert.match(long.text, new RegExp(`id="f-label" value="${label}"`), 'the label as typed');
    assert.equal(Number((await origin.db('api_tokens').count({ n: '*' }))[0].n), tokens, 'no token created');

    await admin.get('/editor/settings');
    const open = (await origin.db('settings').select('*')).map((r) => JSON.stringify(r));
    const setting = await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: 'everyone' });
    assert.equal(setting.status, 400);
    assertNamedAt(setting, 'openPublishing', /./);
    assert.deepEqual(
      (await origin.db('settings').select('*')).map((r) => JSON.stringify(r)),
      open,
      'settings unchanged',
    );
  });

  it('any other form whose token expired is given back to check and submit again', async () => {
    const res = await web.post('/editor/sections', { _csrf: 'y'.repeat(32), name: 'Culture', slug: 'culture' });
    assert.equal(res.status, 403);
    assert.match(res.text, EXPIRED);
    const fields = formFields(res, '/editor/sections');
    assert.deepEqual(fields.name, ['Culture']);
    assert.deepEqual(fields.slug, ['culture']);
    assert.equal(await origin.db('sections').where({ slug: 'culture' }).first(), undefined, 'nothing created');
    const again = await web.post('/editor/sections', fields);
    assert.equal(again.status, 303);
    assert.ok(await origin.db('sections').where({ slug: 'culture' }).first());
  });

  it('a form posted after the session ended goes through the login and comes back with its text (no JavaScript needed)', async () => {
    const id = await article('Session ends');
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get(`/editor/articles/${id}`);
    const token = admin.csrf();
    // The session ends while the form is open (expired, or ended by an admin).
    await origin
      .db('sessions')
      .where({ id: sha256Hex(admin.cookies.get(SESSION_COOKIE)!) })
      .update({ expires_at: 0 });
    const text = '<p>Written while the session ran out</p>';
    const res = await admin.post(`/editor/articles/${id}`, {
      _csrf: token,
      title: 'Session ends, text stays',
      summary: 'S',
      body: text,
      status: 'published',
      tags: '',
      password: 'never carried',
    });
    assert.equal(res.status, 401);
    assert.match(res.text, /your session ended: log in/);
    assert.doesNotMatch(res.text, /never carried/, 'no password is carried');
    const login = formFields(res, '/editor/login');
    assert.ok(login.resume?.[0].includes('Written while the session ran out'));
    assert.equal((await origin.db('articles').where({ id }).first()).title, 'Session ends');

    const back = await admin.post('/editor/login', {
      ...login,
      name: 'admin1',
      password: (await import('./editor-helpers')).PASSWORD,
    });
    assert.equal(back.status, 200);
    assert.match(back.text, /logged in again; nothing was saved yet/);
    const fields = formFields(back, `/editor/articles/${id}`);
    assert.deepEqual(fields.body, [text]);
    assert.equal(fields.password, undefined);
    assert.equal((await origin.db('articles').where({ id }).first()).title, 'Session ends', 'still nothing saved');
    const saved = await admin.post(`/editor/articles/${id}`, fields);
    assert.equal(saved.status, 303);
    assert.equal((await origin.db('articles').where({ id }).first()).title, 'Session ends, text stays');
  });

  it('the login form opened too long ago comes back with the name typed and a fresh token', async () => {
    const stranger = new WebClient(origin.url);
    await stranger.get('/editor/login');
    stranger.cookies.set('hs_csrf', 'z'.repeat(32));
    const res = await stranger.post('/editor/login', {
      _csrf: 'q'.repeat(32),
      name: 'editor1',
      password: 'whatever',
      next: '/editor',
    });
    assert.equal(res.status, 403);
    assert.match(res.text, EXPIRED);
    assert.match(res.text, /name="name" value="editor1"/);
    assert.doesNotMatch(res.text, /whatever/);
    assert.equal(stranger.csrf(), 'z'.repeat(32), "the form carries the browser's current token");
  });
});

describe('no dead ends on the public submission form', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('public_dead_ends');
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get('/editor/settings');
    assert.equal((await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: 'held' })).status, 303);
  });
  after(async () => {
    await origin?.close();
  });

  it('a submission whose token expired comes back with the story typed and a fresh token; nothing is submitted until it is sent again', async () => {
    const reader = new WebClient(origin.url);
    await reader.get('/submit');
    const story = 'First paragraph.\n\nSecond, with <b>angle</b> & "quotes".';
    // The browser lost its cookie token meanwhile (cleared, or another form renewed it).
    reader.cookies.delete('hs_csrf');
    const res = await reader.post('/submit', {
      _csrf: 'w'.repeat(32),
      title: 'Street report',
      body: story,
      website: '',
    });
    assert.equal(res.status, 403);
    assert.match(res.text, EXPIRED);
    const fields = formFields(res, '/submit');
    assert.deepEqual(fields.title, ['Street report']);
    assert.deepEqual(fields.body, [story]);
    assert.equal(await origin.db('articles').where({ title: 'Street report' }).first(), undefined);
    const sent = await reader.post('/submit', { ...fields, kind: 'article' });
    assert.equal(sent.status, 201);
    assert.ok(await origin.db('articles').where({ title: 'Street report' }).first());
  });

  it('a submission without a body comes back naming the body field, the title kept', async () => {
    const reader = new WebClient(origin.url);
    await reader.get('/submit');
    const res = await reader.post('/submit', { _csrf: reader.csrf(), title: 'Only a title', body: '  ', website: '' });
    assert.equal(res.status, 400);
    assertNamedAt(res, 'body', /write something/);
    assert.deepEqual(formFields(res, '/submit').title, ['Only a title']);
  });
});
