// Live entries through the editor's HTML forms (no JavaScript), against real
// MariaDB: an article made live from its form, entries added, edited and
// deleted from the entries page, each owing a render; an empty entry is
// shown again with a 400 naming the field, and nothing is written.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('live entries in the editor UI', () => {
  let origin: EditorOrigin;
  let web: WebClient;
  let id: number;

  const entries = () => origin.db('live_entries').where({ article_id: id }).orderBy('seq');
  const owed = async () => Number((await origin.db('outbox').where({ item_id: id }).count({ n: '*' }))[0].n);

  before(async () => {
    origin = await startEditorOrigin('editor_live');
    web = new WebClient(origin.url);
    await web.login('editor1');
    await web.get('/editor/articles/new');
    const res = await web.post('/editor/articles', {
      _csrf: web.csrf(),
      intent: 'save',
      title: 'Budget day live',
      body: '<p>Follow along.</p>',
      status: 'published',
      live: 'on',
    });
    assert.equal(res.status, 303);
    id = Number(/\/editor\/articles\/(\d+)/.exec(res.location!)![1]);
  });
  after(async () => {
    await origin?.close();
  });

  it('the article form makes an article live and links its entries page', async () => {
    assert.equal(Boolean((await origin.db('articles').where({ id }).first('live')).live), true);
    const page = await web.get(`/editor/articles/${id}`);
    assert.match(page.text, /name="live" checked/);
    assert.match(page.text, new RegExp(`href="/editor/articles/${id}/live"`));
  });

  it('adds, edits and deletes entries, each owing a render of the article', async () => {
    let before = await owed();
    await web.get(`/editor/articles/${id}/live`);
    const added = await web.post(`/editor/articles/${id}/live`, {
      _csrf: web.csrf(),
      body: '<p>Chancellor rises.</p><script>x()</script>',
    });
    assert.equal(added.status, 303);
    assert.deepEqual(
      (await entries()).map((e) => e.body),
      ['<p>Chancellor rises.</p>'],
    );
    assert.equal(await owed(), before + 1);
    const [entry] = await entries();
    const page = await web.get(`/editor/articles/${id}/live`);
    assert.match(page.text, /Chancellor rises/);

    before = await owed();
    const edited = await web.post(`/editor/articles/${id}/live/${entry.id}`, {
      _csrf: web.csrf(),
      intent: 'save',
      body: '<p>The Chancellor rises to speak.</p>',
    });
    assert.equal(edited.status, 303);
    assert.equal((await entries())[0].body, '<p>The Chancellor rises to speak.</p>');
    assert.equal(await owed(), before + 1);

    await web.get(`/editor/articles/${id}/live`);
    const deleted = await web.post(`/editor/articles/${id}/live/${entry.id}`, {
      _csrf: web.csrf(),
      intent: 'delete',
      body: '',
    });
    assert.equal(deleted.status, 303);
    assert.equal((await entries()).length, 0);
  });

  it('shows an empty entry again with a 400 naming the body, and writes nothing', async () => {
    await web.get(`/editor/articles/${id}/live`);
    const before = await owed();
    const res = await web.post(`/editor/articles/${id}/live`, { _csrf: web.csrf(), body: '<script>only()</script>' });
    assert.equal(res.status, 400);
    assert.match(res.text, /body must not be empty/);
    assert.match(res.text, /class="invalid"/);
    assert.equal((await entries()).length, 0);
    assert.equal(await owed(), before);
  });
});
