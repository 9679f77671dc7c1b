// Who may moderate what, per role and action, through the JSON API and the
// editor UI: moderators act on submissions in the queue only (publish one
// still pending, hide any), never feature, never publish someone else's
// draft, never publish again what was hidden (an admin's hide for a legal
// reason stands); editors and admins may do all of it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('moderation scope per role', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('editor_mod_scope');
  });
  after(async () => {
    await origin?.close();
  });

  async function api(path: string, token: string | undefined, body: unknown) {
    return fetch(`${origin.url}/api${path}`, {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
  async function article(token: string, fields: Record<string, unknown>): Promise<number> {
    const res = await api('/articles', token, { body: '<p>text</p>', ...fields });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: number }).id;
  }
  async function submission(title: string): Promise<number> {
    const res = await api('/submissions', undefined, { title, body: '<p>from a reader</p>' });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: number }).id;
  }
  const moderate = (id: number, token: string, action: string, reason = '') =>
    api(`/moderation/articles/${id}`, token, { action, reason });
  const statusOf = async (id: number) => await origin.db('articles').where({ id }).first('status', 'featured');

  it('lets a moderator publish and hide a pending submission, and nothing else, through the API', async () => {
    const { moderator, admin } = origin.tokens;
    const adminsDraft = await article(admin, { title: 'Admin draft' });
    const published = await article(admin, { title: 'Admin story', status: 'published' });
    const pending = await submission('Reader tip');

    const refusals: [number, string, RegExp][] = [
      [adminsDraft, 'publish', /moderation queue only/],
      [adminsDraft, 'hide', /moderation queue only/],
      [published, 'hide', /moderation queue only/],
      [published, 'feature', /moderation queue only/],
      [pending, 'feature', /featuring needs an editor or admin/],
      [pending, 'unfeature', /featuring needs an editor or admin/],
    ];
    for (const [id, action, message] of refusals) {
      const res = await moderate(id, moderator, action, 'a reason');
      assert.equal(res.status, 403, `${action} on ${id}`);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, message);
    }
    assert.equal((await statusOf(adminsDraft)).status, 'draft');
    assert.equal((await statusOf(published)).status, 'published');
    assert.equal(Boolean((await statusOf(pending)).featured), false);

    assert.equal((await moderate(pending, moderator, 'publish')).status, 200);
    assert.equal((await statusOf(pending)).status, 'published');
    assert.equal(
      (await moderate(pending, moderator, 'hide', 'Spam')).status,
      200,
      'a reviewed submission can be hidden',
    );
    const again = await moderate(pending, moderator, 'publish');
    assert.equal(again.status, 403, 'what was hidden is not published again by a moderator');
    assert.equal((await statusOf(pending)).status, 'hidden');
  });

  it("never lets a moderator undo an admin's hide; an editor or admin may", async () => {
    const { moderator, editor, admin } = origin.tokens;
    const id = await submission('Defamatory claim');
    assert.equal((await moderate(id, admin, 'hide', 'Legal: court order 2026/114')).status, 200);
    const res = await moderate(id, moderator, 'publish');
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /legal reason/);
    assert.equal((await statusOf(id)).status, 'hidden');
    assert.equal((await moderate(id, editor, 'publish')).status, 200);
    assert.equal((await statusOf(id)).status, 'published');
  });

  it("lets an editor publish someone else's draft and feature any item", async () => {
    const { editor, admin } = origin.tokens;
    const draft = await article(admin, { title: 'Admin draft two' });
    assert.equal((await moderate(draft, editor, 'publish')).status, 200);
    assert.equal((await moderate(draft, editor, 'feature')).status, 200);
    assert.deepEqual(
      { ...(await statusOf(draft)), featured: Boolean((await statusOf(draft)).featured) },
      { status: 'published', featured: true },
    );
    assert.equal((await moderate(draft, admin, 'unfeature')).status, 200);
    assert.equal((await moderate(draft, admin, 'hide', 'Outdated')).status, 200);
    const rows = await origin
      .db('audit_log')
      .where({ target: `article:${draft}` })
      .orderBy('id')
      .select('action', 'actor_name');
    assert.deepEqual(
      rows.map((r) => [r.action, r.actor_name]),
      [
        ['publish', 'editor1'],
        ['feature', 'editor1'],
        ['unfeature', 'admin1'],
        ['hide', 'admin1'],
      ],
    );
  });

  it('offers a moderator only the buttons they may press, and refuses the others posted by hand, in the editor', async () => {
    const { admin } = origin.tokens;
    const pending = await submission('Queue item for the UI');
    const adminsDraft = await article(admin, { title: 'Admin draft three' });
    const mod = new WebClient(origin.url);
    await mod.login('mod1');

    const queue = await mod.get('/editor/moderation');
    const card = queue.text.slice(queue.text.indexOf('Queue item for the UI'));
    const form = card.slice(0, card.indexOf('</form>'));
    assert.match(form, /value="publish"/);
    assert.match(form, /value="hide"/);
    assert.doesNotMatch(form, /value="feature"/);

    const page = await mod.get(`/editor/articles/${adminsDraft}`);
    const panel = page.text.slice(page.text.indexOf('<h2>Moderation</h2>'), page.text.indexOf('<h2>History</h2>'));
    assert.doesNotMatch(panel, /value="(publish|hide|feature)"/);
    assert.match(panel, /moderators act on submissions in the moderation queue/);
    const forced = await mod.post(`/editor/moderation/articles/${adminsDraft}`, {
      _csrf: mod.csrf(),
      action: 'publish',
    });
    assert.equal(forced.status, 403);
    assert.match(forced.text, /moderation queue only/);
    assert.equal((await statusOf(adminsDraft)).status, 'draft');

    await mod.get('/editor/moderation');
    const featured = await mod.post(`/editor/moderation/articles/${pending}`, { _csrf: mod.csrf(), action: 'feature' });
    assert.equal(featured.status, 403);
    await mod.get('/editor/moderation');
    const published = await mod.post(`/editor/moderation/articles/${pending}`, {
      _csrf: mod.csrf(),
      action: 'publish',
    });
    assert.equal(published.status, 303);
    assert.equal((await statusOf(pending)).status, 'published');

    const editor = new WebClient(origin.url);
    await editor.login('editor1');
    const editorPage = await editor.get(`/editor/articles/${adminsDraft}`);
    const editorPanel = editorPage.text.slice(
      editorPage.text.indexOf('<h2>Moderation</h2>'),
      editorPage.text.indexOf('<h2>History</h2>'),
    );
    assert.match(editorPanel, /value="publish"/);
    assert.match(editorPanel, /value="feature"/);
  });

  it('applies a bulk action to the checked articles from the list, and refuses the whole of it when one item may not be touched', async () => {
    const { admin, moderator } = origin.tokens;
    const a = await article(admin, { title: 'Bulk one' });
    const b = await article(admin, { title: 'Bulk two' });
    const c = await article(admin, { title: 'Bulk three', status: 'published' });
    const editor = new WebClient(origin.url);
    await editor.login('editor1');

    const list = await editor.get('/editor/articles?q=bulk');
    for (const id of [a, b, c]) assert.match(list.text, new RegExp(`name="ids" value="${id}"`));
    const published = await editor.post('/editor/moderation/articles', {
      _csrf: editor.csrf(),
      back: 'q=bulk',
      action: 'publish',
      ids: [String(a), String(b)],
    });
    assert.equal(published.status, 303);
    assert.equal(published.location, '/editor/articles?q=bulk&notice=publish%3A%202%20articles');
    assert.equal((await statusOf(a)).status, 'published');
    assert.equal((await statusOf(b)).status, 'published');

    // Bad input: the list again (its filter kept) with the problem named, and nothing changed.
    const cases: [Record<string, string | string[]>, RegExp][] = [
      [{ action: 'hide', ids: [String(a), String(c)] }, /hiding needs a reason/],
      [{ action: 'publish' }, /choose at least one item/],
      [{ action: 'explode', ids: [String(a)] }, /action must be one of/],
      [{ action: 'feature', ids: ['1x'] }, /ids must be item numbers/],
      [{ action: 'feature', ids: [String(a), String(a)] }, /ids names an item twice/],
      [{ action: 'feature', ids: [String(a), '999999'] }, /article 999999/],
    ];
    for (const [fields, message] of cases) {
      await editor.get('/editor/articles');
      const res = await editor.post('/editor/moderation/articles', { _csrf: editor.csrf(), back: 'q=bulk', ...fields });
      assert.ok(res.status === 400 || res.status === 404, `${JSON.stringify(fields)}: ${res.status}`);
      assert.match(res.text, message);
      assert.match(res.text, /value="bulk"/, 'the search is kept');
    }
    assert.deepEqual(
      await origin.db('articles').whereIn('id', [a, b, c]).orderBy('id').pluck('featured'),
      [0, 0, 0].map(Boolean).map((f) => (origin.db.client.config.client === 'mysql2' ? Number(f) : f)),
    );

    const hidden = await editor.post('/editor/moderation/articles', {
      _csrf: (await editor.get('/editor/articles'), editor.csrf()),
      action: 'hide',
      reason: 'legal review',
      ids: [String(b), String(c)],
    });
    assert.equal(hidden.status, 303);
    assert.equal((await statusOf(b)).status, 'hidden');
    assert.equal((await statusOf(c)).status, 'hidden');

    // A moderator's bulk action on articles outside the queue is refused as a whole, naming the item.
    const res = await api('/moderation/articles', moderator, { ids: [a], action: 'hide', reason: 'spam' });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /moderation queue only/);
    assert.equal((await statusOf(a)).status, 'published');
    const keyed = await fetch(`${origin.url}/api/moderation/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'idempotency-key': 'bulk-1' },
      body: JSON.stringify({ ids: [a, b], action: 'feature' }),
    });
    assert.equal(keyed.status, 400, 'one stored answer cannot stand for several saves');
    assert.match(((await keyed.json()) as { error: { message: string } }).error.message, /no Idempotency-Key/);
    assert.equal(Boolean((await statusOf(a)).featured), false, 'and nothing changed');
    const viaApi = await api('/moderation/articles', admin, { ids: [a, b], action: 'feature' });
    assert.equal(viaApi.status, 200);
    assert.deepEqual(
      ((await viaApi.json()) as { items: { id: number }[] }).items.map((i) => i.id),
      [a, b],
    );
    assert.equal(Boolean((await statusOf(a)).featured), true);
  });
});
