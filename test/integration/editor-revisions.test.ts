// Revision history against real MariaDB. A revision is written in the same
// transaction as the save it records: a save that fails after its revision
// was written leaves neither, and a revision that cannot be written rolls
// the save back (before, the revision was written after the commit, so a
// crash in between kept the edit and lost who made it). Events keep a
// history with preview, view and restore, like articles, in the UI and the
// JSON API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createArticlesService } from '../../app/articles/article-kind';
import { createEventsService } from '../../app/events/event-kind';
import { withRevisions } from '../../app/content/item-revisions';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('revisions commit with their save', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('editor_revisions');
  });
  after(async () => {
    await origin?.close();
  });

  const count = async (table: string) => Number((await origin.db(table).count({ n: '*' }))[0].n);
  const counts = async () => ({
    articles: await count('articles'),
    events: await count('events'),
    revisions: await count('revisions'),
    outbox: await count('outbox'),
  });
  const failAfterRevision = {
    inTransaction: async () => {
      throw new Error('the disk filled up after the revision was written');
    },
  };

  it('an article save that fails after its revision is written leaves neither the edit nor the revision', async () => {
    const articles = withRevisions(createArticlesService({ db: origin.db }), origin.db);
    const { id } = await articles.create({ title: 'Ferry timetable', body: '<p>v1</p>' }, null);
    const before = await counts();
    await assert.rejects(
      articles.update(id, { title: 'Ferry timetable changes', body: '<p>v2</p>' }, failAfterRevision),
      /disk filled up/,
    );
    await assert.rejects(
      articles.create({ title: 'Never saved', body: '<p>x</p>' }, null, failAfterRevision),
      /disk filled up/,
    );
    assert.deepEqual(await counts(), before, 'no revision, no row, no render owed');
    const article = await articles.get(id);
    assert.deepEqual([article.title, article.body], ['Ferry timetable', '<p>v1</p>']);
    assert.deepEqual(
      (await articles.revisions(id)).map((r) => r.action),
      ['create'],
    );
  });

  it('an event save that fails after its revision is written leaves neither', async () => {
    const events = withRevisions(createEventsService({ db: origin.db }), origin.db);
    const { id } = await events.create(
      { title: 'Harbour clean-up', body: '<p>v1</p>', startsAt: Date.parse('2027-05-01T09:00:00Z') },
      null,
    );
    const before = await counts();
    await assert.rejects(events.update(id, { title: 'Harbour clean-up moved' }, failAfterRevision), /disk filled up/);
    await assert.rejects(
      events.create(
        { title: 'Never saved', body: '', startsAt: Date.parse('2027-05-02T09:00:00Z') },
        null,
        failAfterRevision,
      ),
      /disk filled up/,
    );
    assert.deepEqual(await counts(), before);
    assert.equal((await events.get(id)).title, 'Harbour clean-up');
    assert.deepEqual(
      (await events.revisions(id)).map((r) => r.action),
      ['create'],
    );
  });

  it('a revision that cannot be written rolls the article or event save back', async () => {
    const articles = withRevisions(createArticlesService({ db: origin.db }), origin.db);
    const events = withRevisions(createEventsService({ db: origin.db }), origin.db);
    const article = await articles.create({ title: 'Bridge repairs', body: '<p>v1</p>' }, null);
    const event = await events.create(
      { title: 'Bridge reopening', body: '<p>v1</p>', startsAt: Date.parse('2027-06-01T12:00:00Z') },
      null,
    );
    const before = await counts();
    // The history table is unreachable mid-save (a full disk, a lost table): the save must not commit without it.
    await origin.db.raw('RENAME TABLE revisions TO revisions_away');
    try {
      await assert.rejects(articles.update(article.id, { title: 'Bridge repairs finished' }));
      await assert.rejects(articles.create({ title: 'Orphan', body: '<p>x</p>' }, null));
      await assert.rejects(events.update(event.id, { title: 'Bridge reopening delayed' }));
    } finally {
      await origin.db.raw('RENAME TABLE revisions_away TO revisions');
    }
    assert.deepEqual(await counts(), before);
    assert.equal((await articles.get(article.id)).title, 'Bridge repairs');
    assert.equal((await events.get(event.id)).title, 'Bridge reopening');
  });

  it('keeps an event history in the editor: preview without saving, view a revision, restore it as a new revision', async () => {
    const web = new WebClient(origin.url);
    await web.login('editor1');
    await web.get('/editor/events/new');
    const fields = {
      _csrf: web.csrf(),
      title: 'Choir in the square',
      summary: '',
      body: "<p>Six o'clock</p>",
      location: 'Market square',
      startsAt: '2027-07-01T18:00',
      endsAt: '',
      tags: '',
      status: 'draft',
    };
    const revisionsBefore = await count('revisions');
    const preview = await web.post('/editor/events', {
      ...fields,
      intent: 'preview',
      body: '<p>Preview only</p><script>alert(1)</script>',
    });
    assert.equal(preview.status, 200);
    assert.match(preview.text, /<section class="preview"[\s\S]*<p>Preview only<\/p>/);
    assert.doesNotMatch(preview.text, /<script>alert/);
    assert.equal(await count('revisions'), revisionsBefore, 'a preview saves nothing');

    const created = await web.post('/editor/events', { ...fields, intent: 'save' });
    assert.equal(created.status, 303);
    const id = Number(/\/editor\/events\/(\d+)/.exec(created.location!)![1]);
    await web.get(`/editor/events/${id}`);
    const edited = await web.post(`/editor/events/${id}`, {
      ...fields,
      _csrf: web.csrf(),
      intent: 'save',
      title: 'Choir cancelled',
      body: '<p>Rain</p>',
    });
    assert.equal(edited.status, 303);

    const page = await web.get(`/editor/events/${id}`);
    const [latest, first] = [...page.text.matchAll(/href="\/editor\/events\/\d+\/revisions\/(\d+)">#\d+ (\w+)/g)].map(
      (m) => ({ id: Number(m[1]), action: m[2] }),
    );
    assert.deepEqual([latest.action, first.action], ['edited', 'created']);
    const view = await web.get(`/editor/events/${id}/revisions/${first.id}`);
    assert.equal(view.status, 200);
    assert.match(view.text, /Choir in the square/);
    assert.match(view.text, /Market square/);

    const restored = await web.post(`/editor/events/${id}/revisions/${first.id}/restore`, {
      _csrf: web.csrf(),
      confirm: 'yes',
    });
    assert.equal(restored.status, 303);
    const event = await origin.db('events').where({ id }).first('title', 'body');
    assert.deepEqual([event.title, event.body], ['Choir in the square', "<p>Six o'clock</p>"]);
    const history = await origin
      .db('revisions')
      .leftJoin('users', 'users.id', 'revisions.user_id')
      .where({ item_type: 'event', item_id: id })
      .orderBy('revisions.id', 'desc')
      .select('action', 'reason', 'users.name');
    assert.deepEqual(
      history.map((r) => [r.action, r.name]),
      [
        ['restore', 'editor1'],
        ['edit', 'editor1'],
        ['create', 'editor1'],
      ],
    );
    assert.equal(history[0].reason, `restored revision ${first.id}`);

    const missingCsrf = await web.post(`/editor/events/${id}/revisions/${first.id}/restore`, {});
    assert.equal(missingCsrf.status, 403);
    const foreign = await web.post(`/editor/events/${id}/revisions/999999/restore`, {
      _csrf: web.csrf(),
      confirm: 'yes',
    });
    assert.equal(foreign.status, 404);
    assert.equal(await count('revisions'), revisionsBefore + 3, 'refused restores record nothing');
  });

  it('lists and restores event revisions through the JSON API, once per Idempotency-Key, with the token user in the history', async () => {
    const api = (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${origin.url}/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = (await (
      await api('POST', '/events', origin.tokens.editor, {
        title: 'Lantern walk',
        body: '<p>v1</p>',
        startsAt: '2027-11-11T17:00:00Z',
      })
    ).json()) as { id: number };
    assert.equal(
      (await api('PUT', `/events/${created.id}`, origin.tokens.editor, { title: 'Lantern walk (new route)' })).status,
      200,
    );
    const listed = (await (await api('GET', `/events/${created.id}/revisions`, origin.tokens.moderator)).json()) as {
      revisions: { number: number; action: string; user: string; snapshot: { title: string } }[];
    };
    assert.deepEqual(
      listed.revisions.map((r) => [r.action, r.user, r.snapshot.title]),
      [
        ['edit', 'editor1', 'Lantern walk (new route)'],
        ['create', 'editor1', 'Lantern walk'],
      ],
    );
    const first = listed.revisions[1].number;

    assert.equal(
      (await api('POST', `/events/${created.id}/revisions/${first}/restore`, origin.tokens.moderator)).status,
      403,
      'moderators do not restore',
    );
    const before = await count('revisions');
    const restore = () =>
      api(
        'POST',
        `/events/${created.id}/revisions/${first}/restore`,
        origin.tokens.editor,
        { confirm: true },
        {
          'idempotency-key': `restore-${created.id}`,
        },
      );
    assert.equal((await restore()).status, 200);
    const again = await restore();
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(await count('revisions'), before + 1, 'a retried restore is not a second revision');
    assert.equal((await origin.db('events').where({ id: created.id }).first('title')).title, 'Lantern walk');
    assert.equal((await api('POST', `/events/${created.id}/revisions/0/restore`, origin.tokens.editor)).status, 400);
  });
});
