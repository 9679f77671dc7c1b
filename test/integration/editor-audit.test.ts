// The audit log an admin browses: rows from real sign-ins and publishes,
// filtered by actor, action and date, 50 a page, in the editor and the JSON
// API; bad filters come back with the field named; other roles may not look.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('audit log', () => {
  let origin: EditorOrigin;
  let admin: WebClient;

  before(async () => {
    origin = await startEditorOrigin('editor_audit');
    admin = new WebClient(origin.url);
    await admin.login('admin1');
    await new WebClient(origin.url).login('editor1', 'not the password');
    await fetch(`${origin.url}/api/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${origin.tokens.editor}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Audited story', body: '<p>x</p>', status: 'published' }),
    });
  });
  after(async () => {
    await origin?.close();
  });

  const api = (query: string, token = origin.tokens.admin) =>
    fetch(`${origin.url}/api/audit${query}`, { headers: { authorization: `Bearer ${token}` } });

  it('lists sign-ins, failed sign-ins and publishes, newest first, with who, what and from where', async () => {
    const page = await admin.get('/editor/audit');
    assert.equal(page.status, 200);
    for (const text of ['login_failed', 'user:editor1', 'publish', 'Audited story', 'admin1'])
      assert.ok(page.text.includes(text), text);
    const body = (await (await api('')).json()) as { entries: { action: string; actor: string | null }[] };
    assert.deepEqual(
      body.entries.map((e) => [e.action, e.actor]),
      [
        ['publish', 'editor1'],
        ['login_failed', null],
        ['login', 'admin1'],
      ],
    );
  });

  it('filters by actor, action and date range', async () => {
    const byActor = (await (await api('?actor=editor1')).json()) as { entries: { action: string }[] };
    assert.deepEqual(
      byActor.entries.map((e) => e.action),
      ['publish'],
    );
    const byAction = (await (await api('?action=login')).json()) as { entries: { actor: string }[] };
    assert.deepEqual(
      byAction.entries.map((e) => e.actor),
      ['admin1'],
    );
    const today = new Date().toISOString().slice(0, 10);
    const inRange = (await (await api(`?from=${today}&to=${today}`)).json()) as { total: number };
    assert.equal(inRange.total, 3);
    const before = (await (await api('?to=2020-01-01')).json()) as { total: number };
    assert.equal(before.total, 0);
    const ui = await admin.get('/editor/audit?action=login_failed');
    assert.match(ui.text, /1 entry/);
    assert.match(ui.text, /<option selected>login_failed<\/option>/);
  });

  it('pages through many rows, 50 at a time', async () => {
    const now = Date.now();
    await origin.db('audit_log').insert(
      Array.from({ length: 60 }, (_, i) => ({
        at: now - 1000 - i,
        action: 'token_created',
        target: `token:${1000 + i}`,
      })),
    );
    const first = (await (await api('?action=token_created')).json()) as {
      entries: unknown[];
      pages: number;
      total: number;
    };
    assert.equal(first.entries.length, 50);
    assert.equal(first.total, 60);
    assert.equal(first.pages, 2);
    const second = (await (await api('?action=token_created&page=2')).json()) as { entries: unknown[] };
    assert.equal(second.entries.length, 10);
    const ui = await admin.get('/editor/audit?action=token_created&page=2');
    assert.match(ui.text, /page 2 of 2/);
    assert.match(ui.text, /href="\/editor\/audit\?action=token_created&page=1"/);
  });

  it('answers a bad filter with 400 naming the field, on the page with the filter kept', async () => {
    for (const [query, field] of [
      ['?action=sneeze', 'action'],
      ['?from=2026-13-01', 'from'],
      ['?to=yesterday', 'to'],
      ['?from=2026-05-02&to=2026-05-01', 'to'],
      ['?page=0', 'page'],
      [`?actor=${'x'.repeat(65)}`, 'actor'],
    ]) {
      const res = await api(query);
      assert.equal(res.status, 400, query);
      assert.equal(((await res.json()) as { error: { field: string } }).error.field, field, query);
    }
    const ui = await admin.get('/editor/audit?from=2026-13-01&action=login');
    assert.equal(ui.status, 400);
    assert.match(ui.text, /from must be a date written YYYY-MM-DD/);
    assert.match(ui.text, /class="invalid">From/);
    assert.match(ui.text, /<option selected>login<\/option>/);
  });

  it('is for admins only', async () => {
    assert.equal((await api('', origin.tokens.editor)).status, 403);
    const editor = new WebClient(origin.url);
    await editor.login('editor1');
    assert.equal((await editor.get('/editor/audit')).status, 403);
  });
});
