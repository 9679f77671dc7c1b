// Deleting from the editor in a real browser, the whole stack embedded: the
// article's Delete… link leads to a page saying what deleting does, the
// button there deletes it, its page says it is deleted and offers no edit,
// and the list shows it only under the "deleted" filter. The public page,
// through the cache proxy, becomes the 410 tombstone. axe-core checks the
// confirmation page and the tombstone; screenshots at desktop and phone width
// go to test-output/browser/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { assertAccessible, checkAtSizes } from '../support/axe';
import { SCREENSHOTS } from '../support/chromium';
import { startSignedInEditor, type SignedInEditor } from '../support/signed-in-editor';

describe('deleting an article in the browser', () => {
  let editor: SignedInEditor;
  let site: Embedded;
  let page: Page;

  before(async () => {
    editor = await startSignedInEditor('delete-browser', { RELAY_INTERVAL_MS: '200' });
    ({ site, page } = editor);
  });

  after(async () => {
    await editor?.close();
  });

  /** A full-page screenshot at each size, `delete-NN-name-desktop.png` and `-phone.png`. */
  const shots = (name: string) => editor.shots(name);

  it('deletes after confirming, then lists the article under the deleted filter; readers get the 410 tombstone', async () => {
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify({
        title: 'Ferry strike called off',
        summary: 'Crews return on Monday.',
        body: '<p>The strike planned for Monday will not go ahead.</p>',
        status: 'published',
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { id, url } = (await res.json()) as { id: number; url: string };
    const publicPage = `${site.publicUrl}${url}`;
    await waitFor(async () => (await fetch(publicPage)).status === 200, { what: 'the article on the public site' });

    await page.goto(`${site.appUrl}/editor/articles/${id}`);
    await Promise.all([page.waitForURL(`${site.appUrl}/editor/articles/${id}/delete`), page.click('text=Delete…')]);
    assert.equal(await page.textContent('h1'), 'Delete this article?');
    assert.match((await page.textContent('.confirm-delete')) ?? '', /Ferry strike called off[\s\S]*410 Gone/);
    await assertAccessible(page, 'the delete confirmation');
    await shots('delete-01-confirm');

    // Cancel leaves it as it was.
    await Promise.all([page.waitForURL(`${site.appUrl}/editor/articles/${id}`), page.click('text=Cancel')]);
    assert.equal(await page.textContent('.heading-row .badge'), 'published');

    await Promise.all([page.waitForURL(`${site.appUrl}/editor/articles/${id}/delete`), page.click('text=Delete…')]);
    await page.fill('input[name="reason"]', 'the strike story was wrong');
    await Promise.all([
      page.waitForURL(new RegExp(`/editor/articles/${id}\\?notice=`)),
      page.click('button:has-text("Delete article")'),
    ]);
    assert.equal(await page.textContent('.heading-row .badge'), 'deleted');
    assert.match(
      (await page.textContent('.deleted-banner')) ?? '',
      /Deleted .+ by admin \(“the strike story was wrong”\)\. Its public page answers 410 Gone/,
    );
    assert.equal(await page.locator('button[value="save"]').count(), 0, 'no Save button');
    // The history names the delete ("delete", or "deleted" where histories read actions as labels).
    assert.match((await page.textContent('.revisions li')) ?? '', /#\d+ deleted?\s+by admin/);
    await shots('delete-02-deleted-item');

    await page.goto(`${site.appUrl}/editor/articles`);
    assert.equal(await page.locator('text=Ferry strike called off').count(), 0, 'not in the default list');
    await page.selectOption('select[name="status"]', 'deleted');
    await Promise.all([page.waitForURL(/status=deleted/), page.click('button:has-text("Filter")')]);
    const row = page.locator('tr', { hasText: 'Ferry strike called off' });
    assert.equal(await row.locator('.badge').textContent(), 'deleted');
    await shots('delete-03-list-deleted');

    await waitFor(async () => (await fetch(publicPage)).status === 410, { what: 'the tombstone on the public site' });
    await checkAtSizes(page, publicPage, path.join(SCREENSHOTS, 'delete-04-public-tombstone'), 410);
    assert.doesNotMatch(await page.content(), /Ferry strike/, 'the tombstone names nothing of it');
  });
});
