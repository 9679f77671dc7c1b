// Editor accounts against real MariaDB: database sessions (any app instance
// serves any editor), CSRF on every form, login rate limiting per account
// and per address, roles, and admin user management from the UI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../common/hash';
import { EditorOrigin, PASSWORD, startEditorOrigin, WebClient } from './editor-helpers';

describe('editor accounts and sessions', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('editor_auth');
  });
  after(async () => {
    await origin?.close();
  });

  const sessions = async () => Number((await origin.db('sessions').count({ n: '*' }))[0].n);

  it('logs an editor in with a database session whose cookie value is never stored', async () => {
    const web = new WebClient(origin.url);
    const res = await web.login('editor1');
    assert.equal(res.status, 303);
    assert.equal(res.location, '/editor');
    const cookie = web.cookies.get('hs_session')!;
    assert.ok(cookie, 'a session cookie was set');
    assert.match(res.headers.getSetCookie().join('\n'), /hs_session=[^;]+;.*HttpOnly.*SameSite=Lax/i);
    const row = await origin
      .db('sessions')
      .where({ id: sha256Hex(cookie) })
      .first();
    assert.ok(row, 'the session is stored under the sha256 of the cookie');
    assert.equal(await origin.db('sessions').where({ id: cookie }).first(), undefined);
    const dashboard = await web.get('/editor');
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.text, /editor1/);
    assert.equal(dashboard.headers.get('cache-control'), 'no-store');
    assert.match(dashboard.headers.get('content-security-policy') ?? '', /script-src 'self'; .*frame-ancestors 'none'/);
  });

  it('refuses a wrong password or an unknown user with 401 and creates no session', async () => {
    const before = await sessions();
    const web = new WebClient(origin.url);
    assert.equal((await web.login('editor1', 'wrong password!')).status, 401);
    assert.equal((await web.login('nobody-here', PASSWORD)).status, 401);
    assert.match(web.last!.text, /unknown user name or wrong password/);
    assert.equal(web.cookies.get('hs_session'), undefined);
    assert.equal(await sessions(), before);
    await origin.db('login_throttle').delete();
  });

  it('serves a session from a second app instance on the same database', async () => {
    const web = new WebClient(origin.url);
    await web.login('editor1');
    const second = await origin.startAnother();
    try {
      const other = new WebClient(second.url);
      other.cookies.set('hs_session', web.cookies.get('hs_session')!);
      const res = await other.get('/editor');
      assert.equal(res.status, 200);
      assert.match(res.text, /editor1/);
    } finally {
      await second.close();
    }
  });

  it("refuses a form without a CSRF token, or with another session's token, and changes nothing", async () => {
    const a = new WebClient(origin.url);
    const b = new WebClient(origin.url);
    await a.login('editor1');
    await b.login('editor1');
    await a.get('/editor/sections');
    const tokenA = a.csrf();
    const missing = await b.post('/editor/sections', { name: 'Forged one' });
    assert.equal(missing.status, 403);
    // Given back to check and send again (test/integration/editor-dead-ends.test.ts), never acted on.
    assert.match(missing.text, /your session form expired: check it and submit again/);
    const crossed = await b.post('/editor/sections', { _csrf: tokenA, name: 'Forged two' });
    assert.equal(crossed.status, 403);
    assert.equal(await origin.db('sections').whereIn('name', ['Forged one', 'Forged two']).first(), undefined);
    const ok = await a.post('/editor/sections', { _csrf: tokenA, name: 'Culture' });
    assert.equal(ok.status, 303);
    assert.ok(await origin.db('sections').where({ slug: 'culture' }).first());
  });

  it('ends the session on logout; its cookie and CSRF token are useless afterwards', async () => {
    const web = new WebClient(origin.url);
    await web.login('editor1');
    const cookie = web.cookies.get('hs_session')!;
    await web.get('/editor/sections');
    const token = web.csrf();
    assert.equal((await web.post('/editor/logout', { _csrf: token })).status, 303);
    assert.equal(
      await origin
        .db('sessions')
        .where({ id: sha256Hex(cookie) })
        .first(),
      undefined,
    );
    const replay = new WebClient(origin.url);
    replay.cookies.set('hs_session', cookie);
    assert.equal((await replay.get('/editor')).status, 303, 'the old cookie leads to the login page');
    const replayed = await replay.post('/editor/sections', { _csrf: token, name: 'Replayed' });
    // The login form, carrying what was posted to give it back once logged in again: nothing done meanwhile.
    assert.equal(replayed.status, 401);
    assert.match(replayed.text, /your session ended: log in/);
    assert.equal(await origin.db('sections').where({ name: 'Replayed' }).first(), undefined);
  });

  it('refuses a login form posted without its anonymous CSRF token', async () => {
    const res = await new WebClient(origin.url).post('/editor/login', { name: 'editor1', password: PASSWORD });
    assert.equal(res.status, 403);
  });

  it('never redirects off-site after login', async () => {
    const web = new WebClient(origin.url);
    await web.get('/editor/login');
    const res = await web.post('/editor/login', {
      _csrf: web.csrf(),
      name: 'editor1',
      password: PASSWORD,
      next: '//evil.example/steal',
    });
    assert.equal(res.location, '/editor');
  });

  it('throttles an account after 5 failed logins from a browser it never signed in from, even for the right password, with 429 and Retry-After', async () => {
    await origin.db('login_throttle').delete();
    const web = new WebClient(origin.url);
    for (let i = 0; i < 5; i++) assert.equal((await web.login('mod1', `guess number ${i}`)).status, 401);
    const locked = await web.login('mod1', PASSWORD);
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    assert.equal(web.cookies.get('hs_session'), undefined, 'no session while locked');
    await origin.db('login_throttle').delete();
  });

  it('enforces roles: moderators cannot manage users or write articles; editors cannot manage users', async () => {
    const mod = new WebClient(origin.url);
    await mod.login('mod1');
    assert.equal((await mod.get('/editor/users')).status, 403);
    await mod.get('/editor');
    const forbidden = await mod.post('/editor/articles', {
      _csrf: mod.csrf(),
      title: 'By a moderator',
      body: '<p>x</p>',
    });
    assert.equal(forbidden.status, 403);
    assert.equal(await origin.db('articles').where({ title: 'By a moderator' }).first(), undefined);
    assert.equal((await mod.get('/editor/moderation')).status, 200);
    const editor = new WebClient(origin.url);
    await editor.login('editor1');
    await editor.get('/editor');
    assert.equal(
      (
        await editor.post('/editor/users', {
          _csrf: editor.csrf(),
          name: 'sneaky',
          role: 'admin',
          password: 'longenough1',
        })
      ).status,
      403,
    );
    assert.equal(await origin.db('users').where({ name: 'sneaky' }).first(), undefined);
  });

  it("lets an admin create a user and reset a password, which ends that user's sessions", async () => {
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get('/editor/users');
    assert.equal(
      (
        await admin.post('/editor/users', {
          _csrf: admin.csrf(),
          name: 'reporter2',
          role: 'editor',
          password: 'first password 1',
        })
      ).status,
      303,
    );
    const reporter = new WebClient(origin.url);
    assert.equal((await reporter.login('reporter2', 'first password 1')).status, 303);
    await admin.get('/editor/users');
    const tooShort = await admin.post('/editor/users/reporter2/password', { _csrf: admin.csrf(), password: 'short' });
    assert.equal(tooShort.status, 400);
    assert.equal(
      (await admin.post('/editor/users/reporter2/password', { _csrf: admin.csrf(), password: 'second password 2' }))
        .status,
      303,
    );
    assert.equal((await reporter.get('/editor')).status, 303, 'the old session was ended');
    assert.equal((await new WebClient(origin.url).login('reporter2', 'second password 2')).status, 303);
  });

  it('revokes an API token from the UI; the token stops working at once', async () => {
    const before = await fetch(`${origin.url}/api/me`, {
      headers: { authorization: `Bearer ${origin.tokens.moderator}` },
    });
    assert.equal(before.status, 200);
    const row = await origin
      .db('api_tokens')
      .where({ token_hash: sha256Hex(origin.tokens.moderator) })
      .first('id');
    const admin = new WebClient(origin.url);
    await admin.login('admin1');
    await admin.get('/editor/users');
    assert.equal(
      (await admin.post(`/editor/tokens/${row.id}/revoke`, { _csrf: admin.csrf(), back: 'users' })).status,
      303,
    );
    const afterRevoke = await fetch(`${origin.url}/api/me`, {
      headers: { authorization: `Bearer ${origin.tokens.moderator}` },
    });
    assert.equal(afterRevoke.status, 401);
  });

  it('locks an address after 20 failed logins across accounts', async () => {
    await origin.db('login_throttle').delete();
    const web = new WebClient(origin.url);
    for (let i = 0; i < 20; i++) assert.equal((await web.login(`someone${i}`, 'guess guess guess')).status, 401);
    const locked = await web.login('admin1', PASSWORD);
    assert.equal(locked.status, 429);
    assert.match(locked.text, /from your address/);
    await origin.db('login_throttle').delete();
  });
});
