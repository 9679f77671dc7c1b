// Revision history as issue 16 asks for it, on MariaDB and SQLite: revisions
// numbered 1, 2, 3… per item (existing rows numbered by migration 026, and
// concurrent saves of one item never sharing a number), each named for what
// the save did (publishing from the edit form is "published", not "edited").
// Then, against a running origin: the diff API, and restores that happen
// only when confirmed (the API's "confirm": true, the UI's confirm page).
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createArticlesService } from '../../app/articles/article-kind';
import { createUser } from '../../app/auth/users';
import { migrateLatest, migrateUpTo, pendingMigrations } from '../../app/db/migrate';
import { withRevisions } from '../../app/content/item-revisions';
import { createDatabase, type Database } from '../../common/db/database';
import { sharedDatabase, type SharedDatabase } from '../harness/shared';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

for (const dialect of ['mariadb', 'sqlite'] as const) {
  describe(`revision numbers and actions on ${dialect}`, () => {
    let shared: SharedDatabase | undefined;
    let dir: string;
    const urls: string[] = [];
    const open: Database[] = [];

    /** A fresh, empty database of this dialect. */
    async function freshDatabase(name: string): Promise<Database> {
      let url: string;
      if (dialect === 'mariadb') {
        shared = await sharedDatabase(name);
        url = shared.primaryUrl;
      } else url = `sqlite:${path.join(dir, `${name}.db`)}`;
      urls.push(url);
      const db = createDatabase(url);
      open.push(db);
      return db;
    }

    before(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hs-revision-numbers-'));
    });
    after(async () => {
      for (const db of open) await db.destroy();
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('numbers the revisions already there per item, in the order they were written, and renames old status changes', async () => {
      const db = await freshDatabase('revision_numbers_backfill');
      await migrateUpTo(db, '025-search-index');
      assert.ok((await pendingMigrations(db)).includes('026-revision-numbers'));
      // Three items' saves interleaved, as a busy site writes them; before 026 a publish from the form was an 'edit'.
      const order = [
        ['article', 7, 'create', 'draft'],
        ['article', 8, 'create', 'published'],
        ['event', 7, 'create', 'draft'],
        ['article', 7, 'autosave', 'draft'],
        ['article', 7, 'edit', 'published'],
        ['article', 8, 'edit', 'hidden'],
        ['article', 7, 'edit', 'published'],
        ['event', 7, 'edit', 'draft'],
        ['article', 8, 'edit', 'draft'],
      ] as const;
      for (const [i, [itemType, itemId, action, status]] of order.entries())
        await db('revisions').insert({
          item_type: itemType,
          item_id: itemId,
          action,
          reason: '',
          snapshot: JSON.stringify({ title: 'T', body: '<p>"status":"published"</p>', status }),
          created_at: i,
        });
      await migrateUpTo(db, '026-revision-numbers');
      const rows = await db('revisions').orderBy('id').select('item_type', 'item_id', 'number', 'action');
      assert.deepEqual(
        rows.map((r) => `${r.item_type}:${r.item_id}#${r.number} ${r.action}`),
        [
          'article:7#1 create',
          'article:8#1 create',
          'event:7#1 create',
          'article:7#2 autosave',
          'article:7#3 publish',
          'article:8#2 hide',
          'article:7#4 edit',
          'event:7#2 edit',
          'article:8#3 unhide',
        ],
      );
      await assert.rejects(
        db('revisions').insert({
          item_type: 'article',
          item_id: 7,
          number: 4,
          action: 'edit',
          reason: '',
          snapshot: '{}',
          created_at: 9,
        }),
        /unique|duplicate/i,
        'one item never has two revisions with the same number',
      );
    });

    it('gives concurrent saves and autosaves of one item distinct numbers, 1 to n, while other items count from 1', async () => {
      const db = await freshDatabase('revision_numbers_concurrent');
      await migrateLatest(db);
      const writers = [
        await createUser(db, 'writer1', 'editor', null),
        await createUser(db, 'writer2', 'editor', null),
      ];
      const articles = withRevisions(createArticlesService({ db }), db);
      const { id } = await articles.create({ title: 'Ferry strike', body: '<p>v0</p>' }, null);
      const other = await articles.create({ title: 'Tide tables', body: '<p>t</p>' }, null);
      const saves = 12;
      await Promise.all([
        ...Array.from({ length: saves }, (_, i) =>
          articles.update(id, { title: `Ferry strike, update ${i}`, body: `<p>v${i + 1}</p>` }),
        ),
        ...writers.map((w, i) => articles.autosave(id, { title: `typing ${i}`, body: '<p>draft</p>' }, w.id)),
      ]);
      const numbers = (await articles.revisions(id)).map((r) => r.number).sort((a, b) => a - b);
      assert.deepEqual(
        numbers,
        Array.from({ length: saves + 3 }, (_, i) => i + 1),
        'the create, every save and both autosaves, each its own number',
      );
      assert.deepEqual(
        (await articles.revisions(other.id)).map((r) => r.number),
        [1],
      );
      const list = await articles.revisions(id);
      assert.ok(
        list.every((r) => r.id > 0 && r.number > 0),
        'the row id stays in the listing beside the number',
      );
    });

    it('names each save for what it did, from the status it moved from and to', async () => {
      const db = await freshDatabase('revision_actions');
      await migrateLatest(db);
      const editor = await createUser(db, 'editor1', 'editor', null);
      const articles = withRevisions(createArticlesService({ db }), db);
      const as = { actor: { userId: editor.id } };
      const { id } = await articles.create({ title: 'Bridge closure', body: '<p>one</p>' }, editor.id);
      await articles.update(id, { body: '<p>two</p>' }, as);
      await articles.update(id, { status: 'published' }, as);
      await articles.update(id, { body: '<p>three</p>' }, as);
      await articles.update(id, { status: 'hidden' }, as);
      await articles.update(id, { status: 'published' }, as);
      await articles.update(id, { status: 'draft' }, as);
      await articles.update(id, { publishAt: Date.now() + 86_400_000 }, as);
      await articles.update(id, { status: 'hidden' }, as);
      await articles.update(id, { status: 'draft' }, as);
      await articles.restore(id, 3, editor.id);
      const history = (await articles.revisions(id)).reverse();
      assert.deepEqual(
        history.map((r) => [r.number, r.action, r.label]),
        [
          [1, 'create', 'created'],
          [2, 'edit', 'edited'],
          [3, 'publish', 'published'],
          [4, 'edit', 'edited'],
          [5, 'hide', 'hidden'],
          [6, 'publish', 'published'],
          [7, 'unpublish', 'unpublished'],
          [8, 'schedule', 'scheduled'],
          [9, 'hide', 'hidden'],
          [10, 'unhide', 'unhidden'],
          [11, 'restore', 'restored'],
        ],
      );
      assert.ok(
        history.every((r) => r.user === 'editor1' && r.createdAt > 0),
        'who and when, for every save',
      );
      assert.equal(history[10].reason, 'restored revision 3');
      assert.equal((await articles.get(id)).status, 'published', 'the restore brought back revision 3’s status');
    });
  });
}

describe('revision diff and confirmed restore through the API and the editor', () => {
  let origin: EditorOrigin;

  before(async () => {
    origin = await startEditorOrigin('revision_history_api');
  });
  after(async () => {
    await origin?.close();
  });

  const api = (method: string, url: string, body?: unknown, token = origin.tokens.editor) =>
    fetch(`${origin.url}/api${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** Everything a restore could change: the item, its history, the audit log, the owed renders. */
  const state = async (id: number) => ({
    article: await origin.db('articles').where({ id }).first('title', 'summary', 'body', 'status', 'updated_at'),
    revisions: Number(
      (await origin.db('revisions').where({ item_type: 'article', item_id: id }).count({ n: '*' }))[0].n,
    ),
    audit: Number((await origin.db('audit_log').count({ n: '*' }))[0].n),
    outbox: Number((await origin.db('outbox').count({ n: '*' }))[0].n),
  });

  async function articleWithHistory(): Promise<number> {
    const created = await api('POST', '/articles', {
      title: 'Night ferry',
      summary: 'Timetable change',
      body: '<p>The ferry leaves at nine.</p><p>Tickets at the pier.</p>',
    });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: number };
    const edits = [
      { title: 'Night ferry returns', body: '<p>The ferry leaves at ten.</p><p>Tickets at the pier.</p>' },
      { status: 'published' },
      { body: '<p>The ferry leaves at ten.</p><p>Tickets online only.</p><p>Bikes go free.</p>' },
    ];
    for (const edit of edits) assert.equal((await api('PUT', `/articles/${id}`, edit)).status, 200);
    return id;
  }

  it('lists revisions by number with what each did, and diffs one against the one before or the current version', async () => {
    const id = await articleWithHistory();
    const listed = (await (await api('GET', `/articles/${id}/revisions`)).json()) as {
      revisions: { number: number; action: string; label: string; user: string }[];
    };
    assert.deepEqual(
      listed.revisions.map((r) => [r.number, r.label, r.user]),
      [
        [4, 'edited', 'editor1'],
        [3, 'published', 'editor1'],
        [2, 'edited', 'editor1'],
        [1, 'created', 'editor1'],
      ],
    );

    type Diff = {
      against: string;
      from: { number: number | null };
      to: { number: number | null };
      revision: { number: number; label: string; snapshot?: unknown };
      changed: boolean;
      fields: {
        field: string;
        changed: boolean;
        before: string;
        after: string;
        pieces?: { op: string; text: string }[];
      }[];
      body: { op: string; pieces: { op: string; text: string }[] }[];
    };
    const previous = (await (await api('GET', `/articles/${id}/revisions/2/diff`)).json()) as Diff;
    assert.equal(previous.against, 'previous');
    assert.deepEqual([previous.from.number, previous.to.number], [1, 2]);
    assert.equal(previous.revision.snapshot, undefined, 'the diff names the revision; the listing has its snapshot');
    const title = previous.fields.find((f) => f.field === 'title')!;
    assert.deepEqual([title.changed, title.before, title.after], [true, 'Night ferry', 'Night ferry returns']);
    assert.deepEqual(
      previous.fields.filter((f) => f.changed).map((f) => f.field),
      ['title'],
    );
    assert.deepEqual(
      previous.body.map((p) => p.op),
      ['changed', 'same'],
    );
    assert.deepEqual(
      previous.body[0].pieces.filter((p) => p.op !== 'same'),
      [
        { op: 'removed', text: 'nine.' },
        { op: 'added', text: 'ten.' },
      ],
    );

    const current = (await (await api('GET', `/articles/${id}/revisions/2/diff?against=current`)).json()) as Diff;
    assert.deepEqual([current.from.number, current.to.number], [2, null]);
    assert.deepEqual(
      current.fields.filter((f) => f.changed).map((f) => [f.field, f.before, f.after]),
      [['status', 'draft', 'published']],
    );
    assert.deepEqual(
      current.body.map((p) => p.op),
      ['same', 'changed', 'added'],
    );

    const first = (await (await api('GET', `/articles/${id}/revisions/1/diff`)).json()) as Diff;
    assert.equal(first.from.number, null, 'the first revision is compared with nothing');
    assert.ok(first.body.every((p) => p.op === 'added'));

    const bad = await api('GET', `/articles/${id}/revisions/2/diff?against=yesterday`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /against must be one of previous, current/);
    assert.equal((await api('GET', `/articles/${id}/revisions/99/diff`)).status, 404);
    assert.equal((await api('GET', `/articles/${id}/revisions/1/diff`, undefined, 'not-a-token')).status, 401);
  });

  it('refuses an API restore without "confirm": true and changes nothing; with it, restores once and audits it', async () => {
    const id = await articleWithHistory();
    const unchanged = await state(id);
    for (const body of [undefined, {}, { confirm: 'yes' }, { confirm: false }]) {
      const refused = await api('POST', `/articles/${id}/revisions/2/restore`, body);
      assert.equal(refused.status, 400, `body ${JSON.stringify(body)}`);
      const error = (await refused.json()) as { error: string; field?: string };
      assert.match(JSON.stringify(error), /confirm must be true/);
      assert.deepEqual(await state(id), unchanged, 'nothing restored, recorded, audited or rendered');
    }
    const restored = await api('POST', `/articles/${id}/revisions/2/restore`, { confirm: true });
    assert.equal(restored.status, 200);
    const after = await state(id);
    assert.deepEqual([after.article.title, after.article.status], ['Night ferry returns', 'draft']);
    assert.equal(after.revisions, unchanged.revisions + 1);
    const audited = await origin.db('audit_log').orderBy('id', 'desc').first();
    assert.equal(audited.action, 'restore');
    assert.equal(audited.target, `article:${id}`);
    assert.match(String(audited.detail), /restored revision 2/);
    const [newest] = (
      (await (await api('GET', `/articles/${id}/revisions`)).json()) as {
        revisions: { number: number; label: string; reason: string }[];
      }
    ).revisions;
    assert.deepEqual([newest.number, newest.label, newest.reason], [5, 'restored', 'restored revision 2']);
  });

  it('restores from the editor only through the confirm page, which shows the changes and whether they go live', async () => {
    const id = await articleWithHistory();
    const web = new WebClient(origin.url);
    await web.login('editor1');
    const base = `/editor/articles/${id}`;

    const edit = await web.get(base);
    assert.match(edit.text, /#3 published<\/a>/);
    assert.match(edit.text, new RegExp(`href="${base}/revisions/2/restore">restore…</a>`));
    assert.doesNotMatch(edit.text, /<button class="link" type="submit">restore<\/button>/, 'no one-click restore');

    const view = await web.get(`${base}/revisions/2?against=current`);
    assert.equal(view.status, 200);
    assert.match(view.text, /<h1>Revision #2: edited<\/h1>/);
    assert.match(view.text, /<del><span class="visually-hidden">\[removed: <\/span>at the pier\.<span/);
    assert.match(view.text, /Changes from revision 2 \(edited\) to the current version/);

    // Revision 3 was published: restoring it goes live.
    const live = await web.get(`${base}/revisions/3/restore`);
    assert.equal(live.status, 200);
    assert.match(live.text, /This goes live at once/);
    // Revision 2 was a draft and the article is published: restoring it takes the article down.
    const confirmPage = await web.get(`${base}/revisions/2/restore`);
    assert.match(confirmPage.text, /This takes the article off the public site/);
    assert.match(confirmPage.text, /<ins><span class="visually-hidden">\[added: <\/span>at the pier\./);
    assert.match(confirmPage.text, new RegExp(`<a href="${base}" class="button">Cancel</a>`));

    const unchanged = await state(id);
    const unconfirmed = await web.post(`${base}/revisions/2/restore`, { _csrf: web.csrf() });
    assert.equal(unconfirmed.status, 400);
    assert.match(unconfirmed.text, /confirm the restore on its page/);
    assert.deepEqual(await state(id), unchanged, 'an unconfirmed restore changes nothing');

    const moderator = new WebClient(origin.url);
    await moderator.login('mod1');
    assert.equal((await moderator.get(`${base}/revisions/2/restore`)).status, 403, 'moderators do not restore');

    await web.get(`${base}/revisions/2/restore`);
    const confirmed = await web.post(`${base}/revisions/2/restore`, { _csrf: web.csrf(), confirm: 'yes' });
    assert.equal(confirmed.status, 303);
    const after = await state(id);
    assert.deepEqual([after.article.title, after.article.status], ['Night ferry returns', 'draft']);
    assert.equal(after.revisions, unchanged.revisions + 1);
  });
});
