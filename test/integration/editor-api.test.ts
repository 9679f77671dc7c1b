// The editor's JSON API against real MariaDB: users and tokens, revisions,
// moderation, settings, sections, media and anonymous submissions; every
// write honours Idempotency-Key; bad input and missing rights get a 4xx
// naming the problem and change nothing.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin } from './editor-helpers';

describe('editor JSON API', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('editor_api');
  });
  after(async () => {
    await origin?.close();
  });

  function api(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    return fetch(`${origin.url}/api${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  }
  const count = async (table: string) => Number((await origin.db(table).count({ n: '*' }))[0].n);

  it('creates a user once per Idempotency-Key and replays the first answer', async () => {
    const body = { name: 'desk1', role: 'editor', password: 'desk password 1' };
    const first = await api('POST', '/users', origin.tokens.admin, body, { 'idempotency-key': 'user-desk1' });
    assert.equal(first.status, 201);
    const again = await api('POST', '/users', origin.tokens.admin, body, { 'idempotency-key': 'user-desk1' });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await again.json(), await first.json());
    assert.equal(Number((await origin.db('users').where({ name: 'desk1' }).count({ n: '*' }))[0].n), 1);
    const reused = await api(
      'POST',
      '/users',
      origin.tokens.admin,
      { ...body, name: 'desk2' },
      { 'idempotency-key': 'user-desk1' },
    );
    assert.equal(reused.status, 422, 'a key reused for a different request is refused');
    assert.equal(await origin.db('users').where({ name: 'desk2' }).first(), undefined);
  });

  it('renames a tag once per Idempotency-Key: the key commits with the rename, and a retry owes no second render', async () => {
    const created = await api('POST', '/articles', origin.tokens.editor, {
      title: 'Tagged before a rename',
      body: '<p>Body</p>',
      status: 'published',
      tags: ['Rename me'],
    });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: number };
    const owed = async () =>
      Number((await origin.db('outbox').where({ topic: 'article', item_id: id }).count({ n: '*' }))[0].n);
    const before = await owed();
    const headers = { 'idempotency-key': 'tag-rename-1' };
    const first = await api('PUT', '/tags/rename-me', origin.tokens.editor, { name: 'Renamed once' }, headers);
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { slug: 'rename-me', name: 'Renamed once', queued: 1 });
    assert.equal(await owed(), before + 1);
    assert.ok(await origin.db('idempotency_keys').where({ idem_key: 'tag-rename-1' }).first(), 'the key is recorded');
    const again = await api('PUT', '/tags/rename-me', origin.tokens.editor, { name: 'Renamed once' }, headers);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(await owed(), before + 1, 'a replayed rename owes nothing more');
  });

  it('creates and updates an event once per Idempotency-Key', async () => {
    const body = {
      title: 'Open mic night',
      body: '<p>Bring a song</p>',
      startsAt: '2027-03-05T19:00:00Z',
      status: 'published',
    };
    const before = await count('events');
    const first = await api('POST', '/events', origin.tokens.editor, body, { 'idempotency-key': 'event-open-mic' });
    assert.equal(first.status, 201);
    const again = await api('POST', '/events', origin.tokens.editor, body, { 'idempotency-key': 'event-open-mic' });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const created = (await first.json()) as { id: number };
    assert.deepEqual(await again.json(), created);
    assert.equal(await count('events'), before + 1);
    const outbox = await count('outbox');
    const put = () =>
      api(
        'PUT',
        `/events/${created.id}`,
        origin.tokens.editor,
        { location: 'The depot' },
        { 'idempotency-key': 'event-open-mic-loc' },
      );
    assert.equal((await put()).status, 200);
    assert.equal((await put()).headers.get('idempotent-replayed'), 'true');
    assert.equal(await count('outbox'), outbox + 1, 'the retried update wrote nothing');
  });

  it("returns a new token's secret once; a replay returns its id without the secret", async () => {
    const first = await api(
      'POST',
      '/tokens',
      origin.tokens.editor,
      { label: 'script' },
      { 'idempotency-key': 'tok-1' },
    );
    assert.equal(first.status, 201);
    const created = (await first.json()) as { id: number; token: string };
    assert.match(created.token, /^hs_/);
    const me = await api('GET', '/me', created.token);
    assert.equal(((await me.json()) as { name: string }).name, 'editor1');
    const replay = await api(
      'POST',
      '/tokens',
      origin.tokens.editor,
      { label: 'script' },
      { 'idempotency-key': 'tok-1' },
    );
    const replayed = (await replay.json()) as { id: number; token: string | null };
    assert.equal(replayed.id, created.id);
    assert.equal(replayed.token, null);
    const stored = await origin.db('idempotency_keys').where({ idem_key: 'tok-1' }).first('response');
    assert.doesNotMatch(stored.response, /hs_/, 'the secret is not kept in the idempotency record');
    const revoke = await api('DELETE', `/tokens/${created.id}`, origin.tokens.editor);
    assert.equal(revoke.status, 200);
    assert.equal((await api('GET', '/me', created.token)).status, 401);
  });

  it('refuses writes without a token, with a revoked or malformed token, or from the wrong role', async () => {
    const users = await count('users');
    assert.equal(
      (await api('POST', '/users', null, { name: 'x1', role: 'admin', password: 'xxxxxxxxxxxx' })).status,
      401,
    );
    assert.equal(
      (
        await api('POST', '/users', 'hs_not-a-real-token-at-all-123', {
          name: 'x2',
          role: 'admin',
          password: 'xxxxxxxxxxxx',
        })
      ).status,
      401,
    );
    const forbidden = await api('POST', '/users', origin.tokens.editor, {
      name: 'x3',
      role: 'admin',
      password: 'xxxxxxxxxxxx',
    });
    assert.equal(forbidden.status, 403);
    assert.equal(((await forbidden.json()) as { error: { code: string } }).error.code, 'HS_FORBIDDEN');
    assert.equal((await api('PUT', '/settings', origin.tokens.moderator, { openPublishing: 'off' })).status, 403);
    assert.equal(await count('users'), users);
  });

  it('keeps moderators to moderation: their tokens cannot write articles or events', async () => {
    const article = (await (
      await api('POST', '/articles', origin.tokens.editor, { title: 'Desk copy', body: '<p>v1</p>' })
    ).json()) as { id: number };
    const event = (await (
      await api('POST', '/events', origin.tokens.editor, {
        title: 'Desk event',
        body: '<p>v1</p>',
        startsAt: '2027-03-01T10:00:00Z',
      })
    ).json()) as { id: number };
    const [articles, events, revisions] = [await count('articles'), await count('events'), await count('revisions')];
    for (const [method, path, body] of [
      ['POST', '/articles', { title: 'By a moderator', body: '<p>x</p>', status: 'published', featured: true }],
      ['PUT', `/articles/${article.id}`, { title: 'Rewritten by a moderator', status: 'published' }],
      ['POST', '/events', { title: 'By a moderator', body: '<p>x</p>', startsAt: '2027-03-01T10:00:00Z' }],
      ['PUT', `/events/${event.id}`, { title: 'Rewritten by a moderator' }],
    ] as const) {
      const res = await api(method, path, origin.tokens.moderator, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'HS_FORBIDDEN');
    }
    assert.deepEqual(
      [await count('articles'), await count('events'), await count('revisions')],
      [articles, events, revisions],
    );
    assert.equal((await origin.db('articles').where({ id: article.id }).first('title')).title, 'Desk copy');
    // Reading stays open to every token.
    assert.equal((await api('GET', `/articles/${article.id}`, origin.tokens.moderator)).status, 200);
    assert.equal((await api('GET', `/events/${event.id}`, origin.tokens.moderator)).status, 200);
  });

  it('refuses wrong types, overlong fields, unknown actions and bad JSON with 4xx naming the field', async () => {
    const sections = await count('sections');
    const cases: [string, string, unknown, number, string?][] = [
      ['POST', '/users', { name: 'typed', role: 'editor', password: 12345678901 }, 400, 'password'],
      ['POST', '/users', { name: 'x'.repeat(65), role: 'editor', password: 'long enough 1' }, 400, 'name'],
      ['POST', '/users', { name: 'roleless', role: 'superuser', password: 'long enough 1' }, 400, 'role'],
      ['POST', '/sections', { name: '<script>alert(1)</script>' }, 400, 'name'],
      ['POST', '/sections', { name: ['News'] }, 400, 'name'],
      ['PUT', '/settings', { openPublishing: true }, 400, 'openPublishing'],
      ['POST', '/sections', '{"name": "broken', 400],
      ['POST', '/moderation/articles/abc', { action: 'publish' }, 400, 'id'],
    ];
    for (const [method, path, body, status, field] of cases) {
      const res = await api(method, path, origin.tokens.admin, body);
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      const error = ((await res.json()) as { error: { field?: string } }).error;
      if (field) assert.equal(error.field, field);
    }
    const notJson = await fetch(`${origin.url}/api/sections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${origin.tokens.admin}`, 'content-type': 'text/plain' },
      body: 'name=x',
    });
    assert.equal(notJson.status, 415);
    assert.equal(await count('sections'), sections);
  });

  it('moderates through the API: hide needs a reason, a retried hide is not applied twice', async () => {
    const created = await api('POST', '/articles', origin.tokens.editor, {
      title: 'API story',
      body: '<p>x</p>',
      status: 'published',
    });
    const { id } = (await created.json()) as { id: number };
    const noReason = await api('POST', `/moderation/articles/${id}`, origin.tokens.moderator, { action: 'hide' });
    assert.equal(noReason.status, 400);
    const longReason = await api('POST', `/moderation/articles/${id}`, origin.tokens.moderator, {
      action: 'hide',
      reason: 'r'.repeat(501),
    });
    assert.equal(longReason.status, 400);
    // An editor's own article is not in the moderation queue: hiding it is an editor's or admin's call.
    const notQueued = await api('POST', `/moderation/articles/${id}`, origin.tokens.moderator, {
      action: 'hide',
      reason: 'Legal review',
    });
    assert.equal(notQueued.status, 403);
    assert.match(((await notQueued.json()) as { error: { message: string } }).error.message, /moderation queue only/);
    for (let i = 0; i < 2; i++) {
      const res = await api(
        'POST',
        `/moderation/articles/${id}`,
        origin.tokens.admin,
        { action: 'hide', reason: 'Legal review' },
        { 'idempotency-key': `hide-${id}` },
      );
      assert.equal(res.status, 200);
    }
    const hides = await origin.db('revisions').where({ item_id: id, action: 'hide' });
    assert.equal(hides.length, 1, 'one hide in the history despite the retry');
    assert.equal(hides[0].reason, 'Legal review');
    assert.equal((await origin.db('articles').where({ id }).first()).status, 'hidden');
    const missing = await api('POST', '/moderation/articles/999999', origin.tokens.moderator, { action: 'publish' });
    assert.equal(missing.status, 404);
  });

  it('lists revisions and restores one', async () => {
    const created = await api('POST', '/articles', origin.tokens.editor, { title: 'Draft one', body: '<p>one</p>' });
    const { id } = (await created.json()) as { id: number };
    await api('PUT', `/articles/${id}`, origin.tokens.editor, { body: '<p>two</p>' });
    const list = (await (await api('GET', `/articles/${id}/revisions`, origin.tokens.editor)).json()) as {
      revisions: { number: number; action: string; user: string }[];
    };
    assert.deepEqual(
      list.revisions.map((r) => [r.action, r.user]),
      [
        ['edit', 'editor1'],
        ['create', 'editor1'],
      ],
      "API saves are in the history under the token's user",
    );
    const restore = await api(
      'POST',
      `/articles/${id}/revisions/${list.revisions[1].number}/restore`,
      origin.tokens.editor,
      { confirm: true },
    );
    assert.equal(restore.status, 200);
    assert.equal((await origin.db('articles').where({ id }).first()).body, '<p>one</p>');
    const propagation = (await (await api('GET', `/articles/${id}/propagation`, origin.tokens.editor)).json()) as {
      render: string;
    };
    assert.ok(['queued', 'rendered'].includes(propagation.render));
  });

  it("scopes an anonymous submitter's Idempotency-Key to its address: another stranger reusing the key is neither replayed the answer nor refused", async () => {
    /** POST /api/submissions from another loopback address (Linux routes all of 127/8 to lo). */
    function submitFrom(localAddress: string, body: unknown, key: string) {
      const { hostname, port } = new URL(origin.url);
      const text = JSON.stringify(body);
      return new Promise<{ status: number; replayed: boolean; body: { id: number } }>((resolve, reject) => {
        const req = http.request(
          {
            host: hostname,
            port,
            path: '/api/submissions',
            method: 'POST',
            localAddress,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(text),
              'idempotency-key': key,
            },
          },
          (res) => {
            let data = '';
            res
              .setEncoding('utf8')
              .on('data', (c: string) => (data += c))
              .on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  replayed: res.headers['idempotent-replayed'] === 'true',
                  body: JSON.parse(data) as { id: number },
                }),
              );
          },
        );
        req.on('error', reject);
        req.end(text);
      });
    }
    const first = await submitFrom('127.0.0.1', { title: 'Scoped one', body: '<p>first stranger</p>' }, 'shared-key');
    assert.equal(first.status, 201);
    const retry = await submitFrom('127.0.0.1', { title: 'Scoped one', body: '<p>first stranger</p>' }, 'shared-key');
    assert.deepEqual(
      [retry.status, retry.replayed, retry.body.id],
      [201, true, first.body.id],
      "the same stranger's retry is replayed",
    );
    const other = await submitFrom('127.0.0.3', { title: 'Scoped two', body: '<p>second stranger</p>' }, 'shared-key');
    assert.equal(other.status, 201);
    assert.equal(other.replayed, false);
    assert.notEqual(other.body.id, first.body.id);
    assert.ok(
      await origin.db('articles').where({ title: 'Scoped two' }).first(),
      "the second stranger's submission is stored",
    );
  });

  it('accepts anonymous JSON submissions with the same limits as the form', async () => {
    const ok = await api(
      'POST',
      '/submissions',
      null,
      { title: 'From an app', body: '<p>hello</p><iframe src="https://evil.example"></iframe>' },
      { 'idempotency-key': 'sub-1' },
    );
    assert.equal(ok.status, 201);
    const again = await api(
      'POST',
      '/submissions',
      null,
      { title: 'From an app', body: '<p>hello</p><iframe src="https://evil.example"></iframe>' },
      { 'idempotency-key': 'sub-1' },
    );
    assert.equal(again.status, 201);
    assert.equal(
      Number((await origin.db('articles').where({ title: 'From an app' }).count({ n: '*' }))[0].n),
      1,
      'a retried submission is stored once',
    );
    assert.equal((await origin.db('articles').where({ title: 'From an app' }).first()).body, '<p>hello</p>');
    const before = await count('articles');
    const status = await api('POST', '/submissions', null, { title: 'Sneaky', body: 'x', status: 'published' });
    assert.equal(status.status, 400);
    const honeypot = await api('POST', '/submissions', null, {
      title: 'Bot',
      body: 'x',
      website: 'http://spam.example',
    });
    assert.equal(honeypot.status, 400);
    assert.equal(await count('articles'), before);
  });
});
