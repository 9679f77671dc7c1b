// Hostile input against every editor form, in one place: each POST route
// without a CSRF token, with another session's token and with a token
// replayed after logout; overlong, repeated and wrong-typed fields; stored
// script in every plain-text field; reflected query parameters. Every case
// gets a clear 4xx (or, for a dead session, the login page) and the
// database is compared before and after: nothing is stored or changed.
// (docs/api.md, "Hostile input", maps each attack to this and the narrower tests.)
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

/** A small PNG that decodes (uploads of images that do not decode are refused: app/media/media-store.ts). */
function tinyPng(): Promise<Buffer> {
  return sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 20, g: 60, b: 120, alpha: 1 } } })
    .png()
    .toBuffer();
}

const XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>';
const RAW = [/<script>alert\("xss"\)/, /<img src=x onerror/];

describe('hostile input against every editor form', () => {
  let origin: EditorOrigin;
  let admin: WebClient;
  let other: WebClient;
  let ids: { article: number; articleRev: number; event: number; eventRev: number; token: number };

  const api = (method: string, path: string, body: unknown) =>
    fetch(`${origin.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${origin.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    origin = await startEditorOrigin('editor_hostile');
    admin = new WebClient(origin.url);
    other = new WebClient(origin.url);
    await admin.login('admin1');
    await other.login('admin1');
    const article = (await (
      await api('POST', '/articles', { title: 'Target article', body: '<p>v1</p>', tags: ['Harbour'] })
    ).json()) as { id: number };
    await api('PUT', `/articles/${article.id}`, { body: '<p>v2</p>' });
    const event = (await (
      await api('POST', '/events', { title: 'Target event', body: '<p>v1</p>', startsAt: '2027-03-01T10:00:00Z' })
    ).json()) as { id: number };
    await api('PUT', `/events/${event.id}`, { body: '<p>v2</p>' });
    const firstRevision = async (type: string, id: number) =>
      Number(
        (await origin.db('revisions').where({ item_type: type, item_id: id }).orderBy('id').first('number')).number,
      );
    const token = await origin.db('api_tokens').orderBy('id').first('id');
    ids = {
      article: article.id,
      articleRev: await firstRevision('article', article.id),
      event: event.id,
      eventRev: await firstRevision('event', event.id),
      token: Number(token.id),
    };
  });
  after(async () => {
    await origin?.close();
  });

  /** Everything a form could change, as one hash (sessions aside: logging in makes them). */
  async function fingerprint(): Promise<string> {
    const hash = createHash('sha256');
    for (const table of [
      'articles',
      'article_tags',
      'events',
      'event_tags',
      'revisions',
      'sections',
      'tags',
      'users',
      'api_tokens',
      'settings',
      'submissions',
      'outbox',
      'media',
      'idempotency_keys',
    ]) {
      hash.update(`${table}\n${JSON.stringify(await origin.db(table).select('*').orderByRaw('1'))}\n`);
    }
    return hash.digest('hex');
  }

  const forms = (): [string, Record<string, string>][] => [
    ['/editor/articles', { title: 'Forged', body: '<p>x</p>', intent: 'save' }],
    [`/editor/articles/${ids.article}`, { title: 'Forged', body: '<p>x</p>', intent: 'save' }],
    [`/editor/articles/${ids.article}/revisions/${ids.articleRev}/restore`, { confirm: 'yes' }],
    ['/editor/sections', { name: 'Forged' }],
    ['/editor/tags/harbour', { name: 'Forged' }],
    ['/editor/events', { title: 'Forged', body: '', startsAt: '2027-01-01T10:00', intent: 'save' }],
    [`/editor/events/${ids.event}`, { title: 'Forged', body: '', startsAt: '2027-01-01T10:00', intent: 'save' }],
    [`/editor/events/${ids.event}/revisions/${ids.eventRev}/restore`, { confirm: 'yes' }],
    [`/editor/moderation/articles/${ids.article}`, { action: 'hide', reason: 'forged' }],
    [`/editor/moderation/events/${ids.event}`, { action: 'feature', reason: '' }],
    ['/editor/settings', { openPublishing: 'published' }],
    ['/editor/users', { name: 'forged', role: 'admin', password: 'forged password 1' }],
    ['/editor/users/editor1/password', { password: 'forged password 1' }],
    ['/editor/users/editor1/role', { role: 'admin' }],
    ['/editor/tokens', { label: 'forged' }],
    [`/editor/tokens/${ids.token}/revoke`, {}],
    ['/editor/logout', {}],
  ];

  it("refuses every form without a CSRF token, with another session's token, or replayed after logout; nothing changes", async () => {
    const before = await fingerprint();
    await other.get('/editor/sections');
    const othersToken = other.csrf();
    await admin.get('/editor/sections');
    // The session's own token with its last character made non-ASCII: as many characters, more bytes.
    const mangled = `${admin.csrf().slice(0, -1)}\u00e9`;
    for (const [path, fields] of forms()) {
      const missing = await admin.post(path, fields);
      assert.equal(missing.status, 403, `${path} without a token`);
      // Given back with what was posted to check and send again (editor-dead-ends.test.ts), or, for a form with
      // nothing to give back (passwords only, logout), refused; never acted on.
      assert.match(missing.text, /your session form expired: check it and submit again|did not come from this site/);
      const crossed = await admin.post(path, { ...fields, _csrf: othersToken });
      assert.equal(crossed.status, 403, `${path} with another session's token`);
      assert.equal(
        (await admin.post(path, { ...fields, _csrf: mangled })).status,
        403,
        `${path} with a non-ASCII token of the right length`,
      );
    }
    const upload = new FormData();
    upload.append('file', new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])]), 'forged.jpg');
    assert.equal((await admin.request('POST', '/editor/media', upload)).status, 403, 'an upload without a token');

    // A session that logged out: its cookie and token replayed by an attacker who copied both.
    const gone = new WebClient(origin.url);
    await gone.login('admin1');
    await gone.get('/editor/sections');
    const token = gone.csrf();
    const cookie = gone.cookies.get('hs_session')!;
    assert.equal((await gone.post('/editor/logout', { _csrf: token })).status, 303);
    const replay = new WebClient(origin.url);
    replay.cookies.set('hs_session', cookie);
    for (const [path, fields] of forms()) {
      const res = await replay.post(path, { ...fields, _csrf: token });
      assert.ok(
        res.status === 403 ||
          (res.status === 401 && /your session ended: log in/.test(res.text)) ||
          (res.status === 303 && res.location?.startsWith('/editor/login')),
        `${path} replayed after logout answered ${res.status}`,
      );
    }
    assert.equal(await fingerprint(), before, 'no form changed anything');
    assert.equal((await admin.get('/editor')).status, 200, 'the forged logout did not end the session');
  });

  it('refuses overlong, repeated and wrong-typed fields in every form with a 4xx naming the problem; nothing is stored', async () => {
    const before = await fingerprint();
    const long = (n: number) => 'x'.repeat(n);
    const cases: [string, Record<string, string | string[]>, number, RegExp][] = [
      ['/editor/articles', { title: long(301), body: 'x', intent: 'save' }, 400, /title is longer than 300/],
      ['/editor/articles', { title: ['one', 'two'], body: 'x', intent: 'save' }, 400, /title was sent more than once/],
      ['/editor/articles', { title: 'ok', body: 'x', tags: 'a/b', intent: 'save' }, 400, /tag/],
      ['/editor/articles', { title: 'ok', body: 'x', section: 'nope', intent: 'save' }, 400, /unknown section/],
      [
        '/editor/articles',
        { title: 'ok', body: 'x', leadImage: '../../etc/passwd', intent: 'save' },
        400,
        /leadImage must be the sha256/,
      ],
      [
        '/editor/articles',
        { title: 'ok', body: 'x', leadImageAlt: long(301), intent: 'save' },
        400,
        /leadImageAlt is longer than 300/,
      ],
      ['/editor/articles', { title: 'ok', body: 'x', status: 'deleted', intent: 'save' }, 400, /status must be one of/],
      ['/editor/articles/abc', { title: 'ok', body: 'x', intent: 'save' }, 400, /id must be a positive integer/],
      [
        '/editor/events',
        { title: 'ok', body: '', startsAt: '2027-01-01T10:00', location: long(301), intent: 'save' },
        400,
        /location is longer than 300/,
      ],
      [
        '/editor/events',
        { title: ['a', 'b'], body: '', startsAt: '2027-01-01T10:00', intent: 'save' },
        400,
        /title was sent more than once/,
      ],
      [
        '/editor/events',
        { title: 'ok', body: '', startsAt: 'tomorrow', intent: 'save' },
        400,
        /startsAt must be a date and time/,
      ],
      [
        '/editor/events',
        { title: 'ok', body: '', startsAt: '2027-02-30T10:00', intent: 'save' },
        400,
        /not a real date/,
      ],
      [`/editor/events/${ids.event}/revisions/abc/restore`, {}, 400, /revision must be a positive integer/],
      ['/editor/sections', { name: long(101) }, 400, /1 to 100 characters/],
      ['/editor/sections', { name: '<b>News</b>' }, 400, /may not contain/],
      ['/editor/tags/harbour', { name: long(65) }, 400, /longer than 64/],
      ['/editor/tags/harbour', { name: '<script>' }, 400, /contains a character/],
      [
        `/editor/moderation/articles/${ids.article}`,
        { action: 'hide', reason: long(501) },
        400,
        /reason is longer than 500/,
      ],
      [`/editor/moderation/articles/${ids.article}`, { action: 'hide', reason: '' }, 400, /needs a reason/],
      [`/editor/moderation/articles/${ids.article}`, { action: 'erase' }, 400, /action must be one of/],
      ['/editor/moderation/pages/1', { action: 'publish' }, 400, /only articles and events are moderated/],
      ['/editor/settings', { openPublishing: 'always' }, 400, /open publishing must be one of/],
      ['/editor/users', { name: long(65), role: 'editor', password: 'long enough 1' }, 400, /name is longer than 64/],
      ['/editor/users', { name: '<script>', role: 'editor', password: 'long enough 1' }, 400, /user names are 1-64/],
      ['/editor/users', { name: 'newbie', role: 'root', password: 'long enough 1' }, 400, /role must be one of/],
      ['/editor/users', { name: 'newbie', role: 'editor', password: 'short' }, 400, /at least 10 characters/],
      ['/editor/users/editor1/password', { password: 'short' }, 400, /at least 10 characters/],
      ['/editor/users/admin1/role', { role: 'editor' }, 400, /your own role/],
      ['/editor/tokens', { label: long(101) }, 400, /label is longer than 100/],
    ];
    const wrong: string[] = [];
    for (const [path, fields, status, message] of cases) {
      await admin.get('/editor/sections');
      const res = await admin.post(path, { ...fields, _csrf: admin.csrf() });
      const shown = /role="alert"[^>]*>\s*(?:<p>)?([^<]*)</.exec(res.text)?.[1] ?? res.text.slice(0, 200);
      if (res.status !== status || !message.test(shown) || /at .*\.ts:\d+/.test(res.text))
        wrong.push(`${path} ${JSON.stringify(fields).slice(0, 60)}: ${res.status} ${shown}`);
    }
    assert.deepEqual(wrong, [], 'every case answers its 4xx with a message naming the problem, never a stack trace');
    assert.equal(await fingerprint(), before);
  });

  it('shows stored script in every plain-text field as text wherever the editor shows it', async () => {
    await admin.get('/editor/events/new');
    const created = await admin.post('/editor/events', {
      _csrf: admin.csrf(),
      title: `Event ${XSS}`,
      summary: XSS,
      body: '<p>x</p>',
      location: XSS,
      startsAt: '2027-08-01T10:00',
      intent: 'save',
    });
    assert.equal(created.status, 303);
    const eventId = Number(/\/editor\/events\/(\d+)/.exec(created.location!)![1]);
    await admin.get('/editor/articles/new');
    const article = await admin.post('/editor/articles', {
      _csrf: admin.csrf(),
      title: `Article ${XSS}`,
      summary: XSS,
      body: '<p>x</p>',
      leadImageAlt: XSS,
      intent: 'save',
    });
    assert.equal(article.status, 303);
    const articleId = Number(/\/editor\/articles\/(\d+)/.exec(article.location!)![1]);
    await admin.get(`/editor/articles/${articleId}`);
    assert.equal(
      (
        await admin.post(`/editor/moderation/articles/${articleId}`, {
          _csrf: admin.csrf(),
          action: 'hide',
          reason: XSS,
          back: 'item',
        })
      ).status,
      303,
    );
    await admin.get('/editor/account');
    const token = await admin.post('/editor/tokens', { _csrf: admin.csrf(), label: XSS });
    assert.equal(token.status, 201);
    const revision = Number(
      (await origin.db('revisions').where({ item_type: 'event', item_id: eventId }).first('number')).number,
    );

    const pages = [
      token,
      await admin.get('/editor/account'),
      await admin.get('/editor/users'),
      await admin.get('/editor/events'),
      await admin.get(`/editor/events/${eventId}`),
      await admin.get(`/editor/events/${eventId}/revisions/${revision}`),
      await admin.get('/editor/articles'),
      await admin.get(`/editor/articles/${articleId}`),
      await admin.get('/editor'),
      await admin.get(`/editor/articles/${articleId}/propagation.json`),
    ];
    for (const page of pages) {
      assert.ok(page.status < 300, `status ${page.status}`);
      for (const raw of RAW) assert.doesNotMatch(page.text, raw);
    }
    assert.match(pages[4].text, /&lt;script&gt;alert\(&quot;xss&quot;\)&lt;\/script&gt;/, 'shown as text, not dropped');
    assert.match(
      pages[7].text,
      /&lt;img src=x onerror=alert\(1\)&gt;/,
      'the hide reason is kept as text in the history',
    );
  });

  it('does not reflect query parameters unescaped', async () => {
    const q = encodeURIComponent(XSS);
    const anonymous = new WebClient(origin.url);
    for (const [client, path] of [
      [admin, `/editor?notice=${q}`],
      [admin, `/editor/articles?q=${q}&status=${q}&section=${q}`],
      [admin, `/editor/events?status=${q}&notice=${q}`],
      [admin, `/editor/moderation?state=${q}&notice=${q}`],
      [admin, `/editor/media?kind=${q}&page=${q}`],
      [admin, `/editor/users?notice=${q}`],
      [anonymous, `/editor/login?next=${q}`],
      [anonymous, `/submit?kind=${q}`],
    ] as const) {
      const page = await client.get(path);
      assert.ok(page.status < 500, `${path} answered ${page.status}`);
      for (const raw of RAW) assert.doesNotMatch(page.text, raw, path);
    }
  });

  it('refuses API uploads that lie about their type and keeps path tricks in ?name= out of the file system', async () => {
    const upload = (name: string, body: Buffer) =>
      fetch(`${origin.url}/api/media?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${origin.tokens.editor}`, 'content-type': 'image/jpeg' },
        body: new Uint8Array(body),
      });
    const before = await fingerprint();
    for (const [name, body] of [
      ['../../app/ui/static/editor.js', Buffer.from('<html><script>alert(1)</script></html>')],
      ['photo.jpg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')],
      ['..\\..\\evil.png', Buffer.from('MZ\x90\x00 an executable')],
    ] as const) {
      const res = await upload(name, body);
      assert.equal(res.status, 415, name);
      assert.match(
        ((await res.json()) as { error: { message: string } }).error.message,
        /not an image, audio or video format/,
      );
    }
    assert.equal(await fingerprint(), before, 'nothing stored');
    const png = await tinyPng();
    const tricked = await upload('../../../etc/passwd<script>.png', png);
    assert.equal(tricked.status, 201);
    const item = (await tricked.json()) as { sha256: string; path: string; originalName: string };
    assert.equal(item.path, `/media/${item.sha256}.png`, 'the public path is the hash and the sniffed type');
    assert.equal(item.originalName, 'passwdscript.png', 'the name keeps only a printable last segment, for display');
  });

  it('stores API writes with script in them sanitized or refused, and refuses wrong types for events', async () => {
    const before = await fingerprint();
    for (const body of [
      { title: 'x', body: '', startsAt: 1767225600000 },
      { title: 'x', body: '', startsAt: '2027-01-01T10:00:00Z', tags: 'not-an-array' },
      { title: 'x'.repeat(301), body: '', startsAt: '2027-01-01T10:00:00Z' },
      { title: 'x', body: '', startsAt: '2027-01-01T10:00:00Z', location: { $gt: '' } },
      { title: 'x', body: '', startsAt: '2027-01-01T10:00:00Z', leadImage: 'ab'.repeat(32) },
    ]) {
      const res = await api('POST', '/events', body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
    }
    assert.equal(await fingerprint(), before);
    const saved = (await (
      await api('POST', '/articles', {
        title: `API ${XSS}`,
        body: `<p>ok</p>${XSS}<iframe src="https://evil.example"></iframe>`,
      })
    ).json()) as { id: number };
    const row = await origin.db('articles').where({ id: saved.id }).first('title', 'body');
    assert.equal(row.title, `API ${XSS}`, 'titles are text: stored as typed, escaped when shown');
    assert.equal(row.body, '<p>ok</p><img src="x" />');
    const page = await admin.get(`/editor/articles/${saved.id}`);
    for (const raw of RAW) assert.doesNotMatch(page.text, raw);
  });

  it('lets an anonymous submitter choose words only: a lead image, section or status in the public form is ignored', async () => {
    await admin.get('/editor/settings');
    assert.equal((await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: 'held' })).status, 303);
    const image = await fetch(`${origin.url}/api/media?name=a.png`, {
      method: 'POST',
      headers: { authorization: `Bearer ${origin.tokens.editor}` },
      body: new Uint8Array(await tinyPng()),
    });
    const { sha256 } = (await image.json()) as { sha256: string };
    const stranger = new WebClient(origin.url);
    await stranger.get('/submit');
    const token = /name="_csrf" value="([^"]+)"/.exec(stranger.last!.text)![1];
    const res = await stranger.post('/submit', {
      _csrf: token,
      title: 'From a reader',
      body: '<p>Hello</p>',
      leadImage: sha256,
      leadImageAlt: 'mine',
      section: 'news',
      status: 'published',
      featured: 'on',
    });
    assert.equal(res.status, 201);
    const row = await origin
      .db('articles')
      .where({ title: 'From a reader' })
      .first('lead_image', 'section_id', 'status', 'featured');
    assert.deepEqual([row.lead_image, row.section_id, row.status, Boolean(row.featured)], [null, null, 'draft', false]);
  });
});
