// Login throttling against real MariaDB under concurrency: a try is counted
// before its password is checked, atomically, so 40 parallel tries get no
// more checks than the limit; a stranger hammering an account from one
// address slows strangers only, never the account's own browser.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EditorOrigin, PASSWORD, startEditorOrigin, WebClient } from './editor-helpers';

describe('login throttling', () => {
  let origin: EditorOrigin;

  before(async () => {
    // The test's clients all come from 127.0.0.1: trusting loopback lets X-Forwarded-For stand for their addresses.
    origin = await startEditorOrigin('editor_throttle', { TRUST_PROXY: 'loopback' });
  });
  after(async () => {
    await origin?.close();
  });
  beforeEach(async () => {
    await origin.db('login_throttle').delete();
  });

  /** A login try from `address`, through `web`'s cookies (its anonymous CSRF token and trusted-browser cookie). */
  async function tryLogin(web: WebClient, address: string, name: string, password: string) {
    const form = await web.request('GET', '/editor/login', undefined, { 'x-forwarded-for': address });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1];
    const body = new URLSearchParams({ _csrf: csrf, name, password, next: '/editor' }).toString();
    return web.request('POST', '/editor/login', body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': address,
    });
  }

  /** 40 tries at once from one address; how many were checked (401) and refused unchecked (429). */
  async function burst(address: string, names: (i: number) => string) {
    const web = new WebClient(origin.url);
    await web.request('GET', '/editor/login', undefined, { 'x-forwarded-for': address });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(web.last!.text)![1];
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        web
          .request(
            'POST',
            '/editor/login',
            new URLSearchParams({
              _csrf: csrf,
              name: names(i),
              password: `wrong guess ${i}`,
              next: '/editor',
            }).toString(),
            { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
          )
          .then((r) => r.status),
      ),
    );
    return {
      checked: statuses.filter((s) => s === 401).length,
      refused: statuses.filter((s) => s === 429).length,
    };
  }

  it('checks no more than 5 of 40 parallel wrong passwords for one account', async () => {
    const { checked, refused } = await burst('203.0.113.7', () => 'mod1');
    assert.equal(checked, 5, 'exactly the per-account limit was checked');
    assert.equal(refused, 35);
    const rows = await origin.db('audit_log').where({ action: 'login_failed', target: 'user:mod1' }).count({ n: '*' });
    assert.equal(Number(rows[0].n), 5, 'one audit row per checked try');
    const throttled = await origin
      .db('audit_log')
      .where({ action: 'login_throttled', target: 'user:mod1' })
      .count({ n: '*' });
    const logged = Number(throttled[0].n);
    // Parallel refusals may each miss the others' row; 35 refusals still leave only a handful.
    assert.ok(logged >= 1 && logged < 10, `${logged} throttled rows for 35 refused tries`);
  });

  it('checks no more than 20 of 40 parallel tries from one address across accounts', async () => {
    const { checked, refused } = await burst('203.0.113.8', (i) => `someone${i}`);
    assert.equal(checked, 20, 'exactly the per-address limit was checked');
    assert.equal(refused, 20);
  });

  it('lets the right user sign in from their own browser while a stranger hammers the account from another address', async () => {
    const own = new WebClient(origin.url);
    assert.equal((await tryLogin(own, '198.51.100.20', 'editor1', PASSWORD)).status, 303);
    assert.ok(own.cookies.get('hs_browser'), 'signing in made the browser a trusted one');
    await own.post('/editor/logout', {
      _csrf: (await own.get('/editor/account')).text.match(/name="_csrf" value="([^"]+)"/)![1],
    });

    const attack = await burst('203.0.113.9', () => 'editor1');
    assert.equal(attack.checked, 5);
    // The stranger, even with the right password, now waits; so does any browser the account never used.
    assert.equal((await tryLogin(new WebClient(origin.url), '203.0.113.9', 'editor1', PASSWORD)).status, 429);
    const fresh = await tryLogin(new WebClient(origin.url), '192.0.2.50', 'editor1', PASSWORD);
    assert.equal(fresh.status, 429);
    assert.ok(Number(fresh.headers.get('retry-after')) > 0);
    assert.match(fresh.text, /browsers it has not signed in from/);

    const back = await tryLogin(own, '198.51.100.20', 'editor1', PASSWORD);
    assert.equal(back.status, 303, 'the owner is not locked out');
    assert.equal((await own.get('/editor')).status, 200);
    const throttled = await origin.db('audit_log').where({ action: 'login_throttled', target: 'user:editor1' }).first();
    assert.ok(throttled, 'refused tries are audited');
    assert.equal(JSON.parse(throttled.detail).by, 'account');
  });

  it('backs off exponentially instead of locking: each failure past the limit doubles the wait', async () => {
    const web = new WebClient(origin.url);
    for (let i = 0; i < 5; i++) assert.equal((await tryLogin(web, '203.0.113.10', 'admin1', `guess ${i}`)).status, 401);
    const first = await tryLogin(web, '203.0.113.10', 'admin1', 'guess 5');
    assert.equal(first.status, 429);
    const wait1 = Number(first.headers.get('retry-after'));
    assert.ok(wait1 > 0 && wait1 <= 30, `first wait ${wait1}s`);
    // The wait runs out (moved back in the database, not slept through): one more try is checked, and the next wait doubles.
    await origin.db('login_throttle').where({ throttle_key: 'account:admin1' }).update({ next_at: 0 });
    assert.equal((await tryLogin(web, '203.0.113.10', 'admin1', 'guess 6')).status, 401);
    const second = await tryLogin(web, '203.0.113.10', 'admin1', 'guess 7');
    assert.equal(second.status, 429);
    const wait2 = Number(second.headers.get('retry-after'));
    assert.ok(wait2 > 30 && wait2 <= 60, `second wait ${wait2}s`);
  });
});
