// Revision history in a real browser, the whole stack embedded (issue 16):
// an editor writes and publishes an article, compares its first revision
// with the current version (changed words as <ins>/<del>, each with a
// spoken label), then restores it through the confirm page: Cancel leaves
// everything as it was, Confirm restores it. axe-core (WCAG 2.0/2.1 A and
// AA) checks the diff view and the confirm page; screenshots at desktop and
// phone width go to test-output/browser/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Embedded } from '../../bin/embedded';
import { assertAccessible, SIZES } from '../support/axe';
import { SCREENSHOTS } from '../support/chromium';
import { startSignedInEditor, type SignedInEditor } from '../support/signed-in-editor';

const DESKTOP = SIZES.desktop;
const PHONE = SIZES.phone;

describe('revision diff and restore confirmation in the browser', () => {
  let signedIn: SignedInEditor;
  let site: Embedded;
  let editor: Page;
  let articleUrl = '';

  before(async () => {
    signedIn = await startSignedInEditor('history-browser');
    ({ site, page: editor } = signedIn);
  });

  after(async () => {
    await signedIn?.close();
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** Saves the edit form with this title, body HTML and status. */
  async function save(title: string, body: string, status?: string): Promise<void> {
    await editor.fill('input[name="title"]', title);
    if (await editor.isVisible('.rich-toolbar button[data-tool="source"]'))
      await editor.click('.rich-toolbar button[data-tool="source"]');
    await editor.fill('textarea[name="body"]', body);
    if (status) await editor.selectOption('#article-form select[name="status"]', status);
    await Promise.all([editor.waitForURL(/\/editor\/articles\/\d+\?notice=/), editor.click('button[value="save"]')]);
  }

  it('names each save in the history and shows what changed since a revision', async () => {
    await editor.goto(`${site.appUrl}/editor/articles/new`);
    await save('Harbour wall repairs', '<p>Work starts on Monday at the north pier.</p><p>The café stays open.</p>');
    articleUrl = editor.url().replace(/\?.*$/, '');
    await save(
      'Harbour wall repairs begin',
      '<p>Work starts on Tuesday at the north pier.</p><p>The café stays open.</p><p>Boats moor at the south quay.</p>',
      'published',
    );
    assert.deepEqual(
      (await editor.locator('.revisions > li > a').allTextContents()).map((t) => t.trim()),
      ['#2 published', '#1 created'],
    );

    await Promise.all([
      editor.waitForURL(/\/revisions\/1\?against=current$/),
      editor.click('.revisions a:has-text("compare with current")'),
    ]);
    assert.equal(await editor.textContent('h1'), 'Revision #1: created');
    const changed = editor.locator('.diff-body p.diff-changed');
    assert.equal(await changed.locator('del').textContent(), '[removed: Monday]');
    assert.equal(await changed.locator('ins').textContent(), '[added: Tuesday]');
    assert.match((await editor.textContent('.diff-body p.diff-added')) ?? '', /new paragraph:\s*\[added: Boats moor/);
    assert.match((await editor.textContent('.diff-fields')) ?? '', /Status\s*\[was: draft\] → \[now: published\]/);
    await assertAccessible(editor, 'the diff view');
    await shot(editor, 'history-01-diff-desktop');
    await editor.setViewportSize(PHONE);
    await shot(editor, 'history-02-diff-phone');
    await editor.setViewportSize(DESKTOP);
  });

  it('restores only after the confirm page, which says it takes the article off the public site', async () => {
    await editor.goto(`${articleUrl}/revisions/1`);
    await Promise.all([editor.waitForURL(/\/revisions\/1\/restore$/), editor.click('text=Restore this revision…')]);
    assert.match((await editor.textContent('#restore-effect')) ?? '', /takes the article off the public site/);
    assert.match((await editor.textContent('#restore-changes')) ?? '', /the current version to revision 1/);
    await assertAccessible(editor, 'the restore confirmation');
    await shot(editor, 'history-03-confirm-desktop');
    await editor.setViewportSize(PHONE);
    await shot(editor, 'history-04-confirm-phone');
    await editor.setViewportSize(DESKTOP);

    await Promise.all([editor.waitForURL(articleUrl), editor.click('a.button:has-text("Cancel")')]);
    assert.equal(
      await editor.inputValue('input[name="title"]'),
      'Harbour wall repairs begin',
      'Cancel changes nothing',
    );
    assert.equal(await editor.locator('.revisions > li').count(), 2);

    await editor.goto(`${articleUrl}/revisions/1/restore`);
    await Promise.all([
      editor.waitForURL(/notice=restored/),
      editor.click('button:has-text("Confirm: restore revision #1")'),
    ]);
    assert.equal(await editor.inputValue('input[name="title"]'), 'Harbour wall repairs');
    assert.deepEqual(
      (await editor.locator('.revisions > li > a').allTextContents()).map((t) => t.trim()),
      ['#3 restored', '#2 published', '#1 created'],
    );
    await shot(editor, 'history-05-restored-desktop');
  });
});
