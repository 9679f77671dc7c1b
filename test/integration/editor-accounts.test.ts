// Hardened accounts against real MariaDB: changing your own password (API and
// UI), the common-password list, an admin ending a user's sessions, Secure
// cookies behind a trusted TLS proxy, idempotency records that keep nothing a
// password could be recovered from, and the audit rows all of it leaves.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApiToken, createUser } from '../../app/auth/users';
import { EditorOrigin, PASSWORD, startEditorOrigin, WebClient } from './editor-helpers';

describe('hardened accounts', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('editor_accounts', { TRUST_PROXY: 'loopback' });
  });
  after(async () => {
    await origin?.close();
  });

  async function api(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    return fetch(`${origin.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  const errorOf = async (res: Response) => ((await res.json()) as { error: { field?: string; message: string } }).error;
  const liveSessions = async (name: string) =>
    Number(
      (
        await origin
          .db('sessions')
          .join('users', 'users.id', 'sessions.user_id')
          .where('users.name', name)
          .count({ n: '*' })
      )[0].n,
    );

  it('changes your own password through the API: other sessions end, tokens are revoked if asked, the asking token stays', async () => {
    await createUser(origin.db, 'reporter1', 'editor', 'first long secret 1');
    const token = await createApiToken(origin.db, 'reporter1', 'script');
    const other = await createApiToken(origin.db, 'reporter1', 'laptop');
    const web = new WebClient(origin.url);
    assert.equal((await web.login('reporter1', 'first long secret 1')).status, 303);

    const wrong = await api('PUT', '/me/password', token, {
      currentPassword: 'nope nope nope',
      newPassword: 'second long secret 2',
    });
    assert.equal(wrong.status, 400);
    assert.equal((await errorOf(wrong)).field, 'currentPassword');
    const common = await api('PUT', '/me/password', token, {
      currentPassword: 'first long secret 1',
      newPassword: 'Password123',
    });
    assert.equal(common.status, 400);
    const commonError = await errorOf(common);
    assert.equal(commonError.field, 'newPassword');
    assert.match(commonError.message, /common passwords/);
    const badFlag = await api('PUT', '/me/password', token, {
      currentPassword: 'first long secret 1',
      newPassword: 'second long secret 2',
      revokeTokens: 'yes',
    });
    assert.equal(badFlag.status, 400);
    assert.equal((await errorOf(badFlag)).field, 'revokeTokens');
    assert.equal(await liveSessions('reporter1'), 1, 'nothing changed by refused requests');

    const ok = await api(
      'PUT',
      '/me/password',
      token,
      { currentPassword: 'first long secret 1', newPassword: 'second long secret 2', revokeTokens: true },
      { 'idempotency-key': 'pw-change-1' },
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { sessionsEnded: 1, tokensRevoked: 1 });
    assert.equal(await liveSessions('reporter1'), 0);
    assert.equal((await web.get('/editor')).status, 303, 'the browser session ended');
    assert.equal((await api('GET', '/me', other)).status, 401, 'the other token was revoked');
    assert.equal((await api('GET', '/me', token)).status, 200, 'the asking token stays');
    assert.equal((await new WebClient(origin.url).login('reporter1', 'second long secret 2')).status, 303);

    // The idempotency record: a keyed fingerprint of the request without its passwords.
    const row = await origin.db('idempotency_keys').where({ idem_key: 'pw-change-1' }).first();
    assert.match(row.request_hash, /^hmac1:[0-9a-f]{64}$/);
    assert.doesNotMatch(String(row.response), /secret/);
    const words = ['first long secret 1', 'second long secret 2', 'Password123', 'password', 'secret'];
    for (const guess of words)
      for (const body of [
        { currentPassword: 'first long secret 1', newPassword: guess, revokeTokens: true },
        { newPassword: guess },
      ])
        for (const path of ['/api/me/password', '/me/password'])
          assert.notEqual(
            createHash('sha256')
              .update(`PUT ${path}\n${JSON.stringify(body)}`)
              .digest('hex'),
            row.request_hash.slice('hmac1:'.length),
          );
    // A retry with the same key is answered from the record (no second change), and the record holds no password.
    const retry = await api(
      'PUT',
      '/me/password',
      token,
      { currentPassword: 'first long secret 1', newPassword: 'second long secret 2', revokeTokens: true },
      { 'idempotency-key': 'pw-change-1' },
    );
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');

    const audit = await origin.db('audit_log').where({ action: 'password_changed', actor_name: 'reporter1' }).first();
    assert.deepEqual(JSON.parse(audit.detail), { sessionsEnded: 1, tokensRevoked: 1 });
    assert.doesNotMatch(JSON.stringify(await origin.db('audit_log').select('*')), /long secret/);
  });

  it('still honours an idempotency record written with the older unkeyed fingerprint until it expires', async () => {
    const token = origin.tokens.editor;
    const body = { name: 'Legacy Section' };
    const legacy = createHash('sha256')
      .update(`POST /api/sections\n${JSON.stringify(body)}`)
      .digest('hex');
    const editor = await origin.db('users').where({ name: 'editor1' }).first('id');
    await origin.db('idempotency_keys').insert({
      user_id: editor.id,
      idem_key: 'legacy-1',
      request_hash: legacy,
      status: 201,
      response: JSON.stringify({ body: { slug: 'legacy-section', name: 'Legacy Section' } }),
      created_at: Date.now(),
    });
    const replayed = await api('POST', '/sections', token, body, { 'idempotency-key': 'legacy-1' });
    assert.equal(replayed.status, 201);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    const other = await api('POST', '/sections', token, { name: 'Another' }, { 'idempotency-key': 'legacy-1' });
    assert.equal(other.status, 422, 'a different request with the old key is still told apart');
  });

  it('changes your own password in the editor, keeping this session and ending the others; a refusal keeps the form', async () => {
    await createUser(origin.db, 'reporter2', 'editor', 'first long secret 1');
    const here = new WebClient(origin.url);
    const elsewhere = new WebClient(origin.url);
    await here.login('reporter2', 'first long secret 1');
    await elsewhere.login('reporter2', 'first long secret 1');
    await here.get('/editor/account');
    const mismatch = await here.post('/editor/account/password', {
      _csrf: here.csrf(),
      currentPassword: 'first long secret 1',
      newPassword: 'second long secret 2',
      confirmPassword: 'second long secret 3',
    });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /the two new passwords differ/);
    assert.match(mismatch.text, /class="invalid">New password again/);
    const weak = await here.post('/editor/account/password', {
      _csrf: here.csrf(),
      currentPassword: 'first long secret 1',
      newPassword: 'qwertyuiop',
      confirmPassword: 'qwertyuiop',
    });
    assert.equal(weak.status, 400);
    assert.match(weak.text, /common passwords/);
    const done = await here.post('/editor/account/password', {
      _csrf: here.csrf(),
      currentPassword: 'first long secret 1',
      newPassword: 'second long secret 2',
      confirmPassword: 'second long secret 2',
    });
    assert.equal(done.status, 303);
    assert.match(decodeURIComponent(done.location!), /password changed; 1 other session ended/);
    assert.equal((await here.get('/editor')).status, 200, 'this session stays');
    assert.equal((await elsewhere.get('/editor')).status, 303, 'the other session ended');
  });

  it('refuses common passwords and passwords holding the user name when an admin creates a user or resets one', async () => {
    const created = await api('POST', '/users', origin.tokens.admin, {
      name: 'newbie',
      role: 'editor',
      password: 'iloveyou12',
    });
    assert.equal(created.status, 400);
    assert.equal((await errorOf(created)).field, 'password');
    const named = await api('POST', '/users', origin.tokens.admin, {
      name: 'newbie',
      role: 'editor',
      password: 'newbie-2026-xyz',
    });
    assert.equal(named.status, 400);
    assert.equal(await origin.db('users').where({ name: 'newbie' }).first(), undefined);
    const reset = await api('PUT', '/users/editor1/password', origin.tokens.admin, { password: '1234567890' });
    assert.equal(reset.status, 400);
    assert.equal((await errorOf(reset)).field, 'password');
  });

  it("lets an admin end a user's sessions from the API and the UI, audited; others may not", async () => {
    const victim = new WebClient(origin.url);
    await victim.login('editor1');
    assert.equal((await api('DELETE', '/users/editor1/sessions', origin.tokens.editor)).status, 403);
    const ended = await api('DELETE', '/users/editor1/sessions', origin.tokens.admin);
    assert.equal(ended.status, 200);
    assert.equal(((await ended.json()) as { sessionsEnded: number }).sessionsEnded >= 1, true);
    assert.equal((await victim.get('/editor')).status, 303);
    assert.equal((await api('DELETE', '/users/nobody/sessions', origin.tokens.admin)).status, 404);

    await victim.login('editor1');
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get('/editor/users');
    assert.match(admin.last!.text, /End sessions/);
    const res = await admin.post('/editor/users/editor1/sessions/end', { _csrf: admin.csrf() });
    assert.equal(res.status, 303);
    assert.equal((await victim.get('/editor')).status, 303);
    const rows = await origin.db('audit_log').where({ action: 'sessions_ended', target: 'user:editor1' }).select('*');
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.actor_name === 'admin1'));
  });

  it('makes the session cookie Secure when a trusted proxy says the request came over TLS, and only then', async () => {
    const plain = new WebClient(origin.url);
    const res = await plain.login('editor1');
    assert.doesNotMatch(res.headers.getSetCookie().join('\n'), /Secure/i);
    const tls = new WebClient(origin.url);
    const form = await tls.request('GET', '/editor/login', undefined, { 'x-forwarded-proto': 'https' });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1];
    const login = await tls.request(
      'POST',
      '/editor/login',
      new URLSearchParams({ _csrf: csrf, name: 'editor1', password: PASSWORD, next: '/editor' }).toString(),
      { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
    );
    assert.equal(login.status, 303);
    const session = login.headers.getSetCookie().find((c) => c.startsWith('hs_session='))!;
    assert.match(session, /;\s*Secure/i);
    assert.match(session, /HttpOnly/i);
  });

  it('writes an audit row for every account change, with no secret in it', async () => {
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get('/editor/users');
    await admin.post('/editor/users', {
      _csrf: admin.csrf(),
      name: 'stringer',
      role: 'moderator',
      password: 'a fine long secret 9',
    });
    await admin.get('/editor/users');
    await admin.post('/editor/users/stringer/role', { _csrf: admin.csrf(), role: 'editor' });
    await admin.get('/editor/users');
    await admin.post('/editor/users/stringer/password', { _csrf: admin.csrf(), password: 'another long secret 8' });
    await admin.get('/editor/account');
    await admin.post('/editor/tokens', { _csrf: admin.csrf(), label: 'audit check' });
    const tokenId = (await origin.db('api_tokens').orderBy('id', 'desc').first('id')).id;
    await admin.get('/editor/account');
    await admin.post(`/editor/tokens/${tokenId}/revoke`, { _csrf: admin.csrf() });
    await admin.get('/editor/settings');
    await admin.post('/editor/settings', { _csrf: admin.csrf(), openPublishing: 'published' });
    const rows = await origin.db('audit_log').where({ actor_name: 'admin1' }).orderBy('id').select('*');
    const actions = rows.map((r) => r.action);
    for (const action of [
      'login',
      'user_created',
      'role_changed',
      'password_reset',
      'token_created',
      'token_revoked',
      'settings_changed',
    ])
      assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
    const role = rows.find((r) => r.action === 'role_changed');
    assert.deepEqual(JSON.parse(role.detail), { role: 'editor', was: 'moderator' });
    assert.equal(role.target, 'user:stringer');
    const everything = JSON.stringify(await origin.db('audit_log').select('*'));
    assert.doesNotMatch(everything, /long secret|hs_[A-Za-z0-9_-]{20,}/);
  });
});
