// Deleting an article or event (app/moderation/moderation.ts): the row stays
// as a tombstone (status 'deleted'), recorded in its history and the audit
// log, left out of the editor's lists unless asked for, and never changed
// again. The same role rules as the other moderation actions: a moderator
// deletes submissions only, and not one that was hidden. Bad requests change
// nothing. What readers see (the 410 on mirrors) is test/integration/delete-tombstone.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('deleting articles and events', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('item_delete');
  });
  after(async () => {
    await origin?.close();
  });

  async function call(method: string, path: string, token: string | undefined, body?: unknown) {
    return fetch(`${origin.url}/api${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  async function article(fields: Record<string, unknown>): Promise<number> {
    const res = await call('POST', '/articles', origin.tokens.admin, { body: '<p>text</p>', ...fields });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { id: number }).id;
  }
  async function submission(title: string): Promise<number> {
    const res = await call('POST', '/submissions', undefined, { title, body: '<p>from a reader</p>' });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: number }).id;
  }
  const row = (id: number) => origin.db('articles').where({ id }).first();
  const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string; field?: string } }).error;
  /** Everything a refused request must leave as it was. */
  const snapshot = async () => ({
    articles: await origin.db('articles').orderBy('id').select('id', 'status', 'updated_at'),
    revisions: Number((await origin.db('revisions').count({ n: '*' }))[0].n),
    audit: Number((await origin.db('audit_log').count({ n: '*' }))[0].n),
    outbox: Number((await origin.db('outbox').count({ n: '*' }))[0].n),
  });

  it('an editor deletes an article through the API: a tombstone row with its history and audit row, out of the lists, never changed again', async () => {
    const id = await article({ title: 'Story to delete', status: 'published' });
    const res = await call('DELETE', `/articles/${id}`, origin.tokens.editor, { reason: 'duplicate of 12' });
    assert.equal(res.status, 200, await res.clone().text());
    const answer = (await res.json()) as { id: number; url: string; status: string };
    assert.equal(answer.id, id);
    assert.equal(answer.status, 'deleted');
    assert.equal((await row(id)).status, 'deleted', 'the row is kept, marked deleted');

    const [revision] = await origin.db('revisions').where({ item_type: 'article', item_id: id }).orderBy('id', 'desc');
    assert.equal(revision.action, 'delete');
    assert.equal(revision.reason, 'duplicate of 12');
    const audit = await origin.db('audit_log').where({ action: 'delete', target: `article:${id}` });
    assert.equal(audit.length, 1, 'one audit row');
    assert.equal(audit[0].actor_name, 'editor1');
    assert.match(String(audit[0].detail), /duplicate of 12/);
    const owed = await origin.db('outbox').where({ topic: 'article', item_id: id });
    assert.ok(owed.length >= 2, 'the delete owes a render (the tombstone)');

    const listed = async (query: string) =>
      ((await (await call('GET', `/articles${query}`, origin.tokens.editor)).json()) as { articles: { id: number }[] })
        .articles;
    assert.ok(!(await listed('')).some((a) => a.id === id), 'not listed by default');
    assert.ok(
      (await listed('?status=deleted')).some((a) => a.id === id),
      'listed with status=deleted',
    );
    const read = await call('GET', `/articles/${id}`, origin.tokens.editor);
    assert.equal(((await read.json()) as { status: string }).status, 'deleted', 'still readable by id');

    // Never changed again: edits, moderation actions, live entries, autosaves are refused with 409.
    const before = await snapshot();
    const edit = await call('PUT', `/articles/${id}`, origin.tokens.admin, { title: 'Back from the dead' });
    assert.equal(edit.status, 409);
    assert.match((await errorOf(edit)).message, /article \d+ is deleted/);
    const publish = await call('POST', `/moderation/articles/${id}`, origin.tokens.admin, { action: 'publish' });
    assert.equal(publish.status, 409);
    assert.match((await errorOf(publish)).message, /deleted: nothing changes it any more/);
    const entry = await call('POST', `/articles/${id}/entries`, origin.tokens.admin, { body: '<p>update</p>' });
    assert.equal(entry.status, 409);
    assert.match((await errorOf(entry)).message, /article \d+ is deleted/);
    assert.deepEqual(await snapshot(), before, 'nothing changed');

    // Deleting again answers the same and records nothing more.
    const again = await call('DELETE', `/articles/${id}`, origin.tokens.admin);
    assert.equal(again.status, 200);
    assert.deepEqual(await snapshot(), before);
  });

  it('refuses bad deletes with the status and field named, and changes nothing', async () => {
    const { editor, moderator } = origin.tokens;
    const adminsStory = await article({ title: 'Admin story', status: 'published' });
    const before = await snapshot();
    const cases: [string, string | undefined, unknown, number, RegExp][] = [
      ['/articles/999999', editor, undefined, 404, /article 999999/],
      ['/articles/abc', editor, undefined, 400, /id must be a positive integer/],
      ['/events/0', editor, undefined, 400, /id must be a positive integer/],
      [`/articles/${adminsStory}`, moderator, undefined, 403, /moderation queue only/],
      [`/articles/${adminsStory}`, undefined, undefined, 401, /token/i],
      [`/articles/${adminsStory}`, editor, { reason: 42 }, 400, /reason must be text/],
      [`/articles/${adminsStory}`, editor, { reason: 'x'.repeat(501) }, 400, /longer than 500/],
    ];
    for (const [path, token, body, status, message] of cases) {
      const res = await call('DELETE', path, token, body);
      assert.equal(res.status, status, `${path} ${JSON.stringify(body)}`);
      assert.match((await errorOf(res)).message, message);
    }
    const text = await fetch(`${origin.url}/api/articles/${adminsStory}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${editor}`, 'content-type': 'text/plain' },
      body: 'reason=spam',
    });
    assert.equal(text.status, 415, 'a body that is sent must be JSON');
    assert.deepEqual(await snapshot(), before, 'nothing changed');
    assert.equal((await row(adminsStory)).status, 'published');
  });

  it('lets a moderator delete a pending submission, but not a hidden one; an editor may', async () => {
    const { moderator, editor, admin } = origin.tokens;
    const spam = await submission('Buy cheap pills');
    const res = await call('DELETE', `/articles/${spam}`, moderator, { reason: 'spam' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await row(spam)).status, 'deleted');
    const reviewed = await origin.db('submissions').where({ item_type: 'article', item_id: spam }).first('state');
    assert.equal(reviewed.state, 'reviewed', 'it leaves the queue');

    const held = await submission('Defamatory claim');
    assert.equal(
      (await call('POST', `/moderation/articles/${held}`, admin, { action: 'hide', reason: 'legal' })).status,
      200,
    );
    const refused = await call('DELETE', `/articles/${held}`, moderator);
    assert.equal(refused.status, 403);
    assert.match((await errorOf(refused)).message, /deleting a hidden item needs an editor or admin/);
    assert.equal((await row(held)).status, 'hidden');
    assert.equal((await call('DELETE', `/articles/${held}`, editor)).status, 200);
    assert.equal((await row(held)).status, 'deleted');
  });

  it('deletes in bulk through the API: every item checked first, one refusal changes nothing', async () => {
    const { moderator, editor } = origin.tokens;
    const a = await article({ title: 'Bulk A', status: 'published' });
    const b = await article({ title: 'Bulk B' });
    const pending = await submission('Bulk submission');
    const before = await snapshot();
    // A moderator may delete the submission, not the editors' articles: the whole request is refused, naming the first.
    const refused = await call('POST', '/moderation/articles', moderator, { ids: [pending, a], action: 'delete' });
    assert.equal(refused.status, 403);
    assert.match((await errorOf(refused)).message, new RegExp(`article ${a}: moderators act on submissions`));
    const missing = await call('POST', '/moderation/articles', editor, { ids: [a, 999998], action: 'delete' });
    assert.equal(missing.status, 404);
    assert.deepEqual(await snapshot(), before, 'nothing changed');

    const done = await call('POST', '/moderation/articles', editor, { ids: [a, b, pending], action: 'delete' });
    assert.equal(done.status, 200, await done.clone().text());
    for (const id of [a, b, pending]) assert.equal((await row(id)).status, 'deleted', `article ${id}`);
    const audit = await origin
      .db('audit_log')
      .where({ action: 'delete' })
      .whereIn(
        'target',
        [a, b, pending].map((id) => `article:${id}`),
      );
    assert.equal(audit.length, 3, 'one audit row per item');
    const after = await snapshot();
    const repeat = await call('POST', '/moderation/articles', editor, { ids: [a, b], action: 'delete' });
    assert.equal(repeat.status, 200, 'repeating a bulk delete is safe');
    assert.deepEqual(await snapshot(), after, 'and changes nothing');
  });

  it('cancels a pending schedule, so the scheduler never publishes a deleted item', async () => {
    const soon = Date.now() + 3600_000;
    const id = await article({
      title: 'Embargoed then dropped',
      publishAt: new Date(soon).toISOString(),
      unpublishAt: new Date(soon + 3600_000).toISOString(),
    });
    assert.equal(Number((await row(id)).publish_at), soon);
    assert.equal((await call('DELETE', `/articles/${id}`, origin.tokens.editor)).status, 200);
    const after = await row(id);
    assert.equal(after.status, 'deleted');
    assert.equal(after.publish_at, null);
    assert.equal(after.unpublish_at, null);
  });

  it('deletes an event through the API and keeps it out of the events list', async () => {
    const res = await call('POST', '/events', origin.tokens.admin, {
      title: 'Harbour open day',
      body: '<p>Boats</p>',
      startsAt: '2030-05-01T10:00:00Z',
      location: 'Quay',
      status: 'published',
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { id } = (await res.json()) as { id: number };
    assert.equal((await call('DELETE', `/events/${id}`, origin.tokens.editor)).status, 200);
    assert.equal((await origin.db('events').where({ id }).first('status')).status, 'deleted');
    const list = (await (await call('GET', '/events', origin.tokens.editor)).json()) as { events: { id: number }[] };
    assert.ok(!list.events.some((e) => e.id === id));
  });

  it('the editor asks before deleting, from the item and in bulk, and lists the deleted under their filter', async () => {
    const id = await article({ title: 'Editor deletes this', status: 'published' });
    const web = new WebClient(origin.url);
    await web.login('editor1');
    const item = await web.get(`/editor/articles/${id}`);
    assert.match(item.text, new RegExp(`href="/editor/articles/${id}/delete"`), 'the item offers Delete…');
    // Posting the action without the confirmation step only leads to it.
    const skipped = await web.post(`/editor/moderation/articles/${id}`, { _csrf: web.csrf(), action: 'delete' });
    assert.equal(skipped.status, 303);
    assert.equal(skipped.location, `/editor/articles/${id}/delete`);
    assert.equal((await row(id)).status, 'published');

    const confirm = await web.get(`/editor/articles/${id}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /410 Gone/);
    assert.match(confirm.text, /Editor deletes this/);
    const deleted = await web.post(`/editor/moderation/articles/${id}`, {
      _csrf: web.csrf(),
      action: 'delete',
      confirmed: 'yes',
      back: 'item',
      reason: 'wrong story',
    });
    assert.equal(deleted.status, 303);
    assert.equal((await row(id)).status, 'deleted');
    const page = await web.get(deleted.location!);
    assert.match(page.text, /Deleted .* by editor1 \(“wrong story”\)/);
    assert.doesNotMatch(page.text, /value="save"/, 'no Save button');
    assert.doesNotMatch((await web.get('/editor/articles')).text, /Editor deletes this/, 'not in the default list');
    assert.match(
      (await web.get('/editor/articles?status=deleted')).text,
      /Editor deletes this/,
      'under the deleted filter',
    );

    // Bulk: Delete first shows the checked items and asks; nothing changes until confirmed.
    const x = await article({ title: 'Bulk web X', status: 'published' });
    const y = await article({ title: 'Bulk web Y' });
    await web.get('/editor/articles');
    const ask = await web.post('/editor/moderation/articles', {
      _csrf: web.csrf(),
      ids: [String(x), String(y)],
      action: 'delete',
      back: 'q=bulk',
    });
    assert.equal(ask.status, 200);
    assert.match(ask.text, /Delete 2 articles\?/);
    assert.match(ask.text, /Bulk web X/);
    assert.equal((await row(x)).status, 'published', 'nothing changed before confirming');
    const confirmed = await web.post('/editor/moderation/articles', {
      _csrf: web.csrf(),
      ids: [String(x), String(y)],
      action: 'delete',
      confirmed: 'yes',
      back: 'q=bulk',
    });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.location, '/editor/articles?q=bulk&notice=delete%3A%202%20articles');
    for (const i of [x, y]) assert.equal((await row(i)).status, 'deleted');

    // A moderator is not offered the delete of an editor's article, and is refused it.
    const mod = new WebClient(origin.url);
    await mod.login('mod1');
    const other = await article({ title: 'Not for moderators', status: 'published' });
    assert.doesNotMatch((await mod.get(`/editor/articles/${other}`)).text, /\/delete"/);
    assert.equal((await mod.get(`/editor/articles/${other}/delete`)).status, 403);
  });
});
