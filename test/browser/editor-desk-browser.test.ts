// The articles list as a desk uses it, in a real browser, the whole stack
// embedded: a search finds an article by a word that is only in its body,
// and a bulk action publishes the checked drafts at once (and nothing else).
// axe-core checks the list; screenshots at desktop and phone width go to
// test-output/browser/desk-*.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Embedded } from '../../bin/embedded';
import { assertAccessible } from '../support/axe';
import { startSignedInEditor, type SignedInEditor } from '../support/signed-in-editor';

/** In one article's body only: not in any title or summary. */
const BODY_WORD = 'Quahogs';

describe('the articles list in the browser: body search and bulk actions', () => {
  let editor: SignedInEditor;
  let site: Embedded;
  let page: Page;
  const ids: Record<string, number> = {};

  async function draft(title: string, body: string): Promise<number> {
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify({ title, summary: 'For the desk.', body, status: 'draft' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { id: number }).id;
  }

  async function status(id: number): Promise<string> {
    const res = await fetch(`${site.appUrl}/api/articles/${id}`, {
      headers: { authorization: `Bearer ${site.adminToken}` },
    });
    return ((await res.json()) as { status: string }).status;
  }

  before(async () => {
    editor = await startSignedInEditor('desk-browser', { RELAY_INTERVAL_MS: '200' });
    ({ site, page } = editor);
    ids.clams = await draft('Shellfish beds reopen', `<p>${BODY_WORD} and mussels are back in the bay.</p>`);
    ids.ferry = await draft('Night ferry returns', '<p>The late crossing runs again from Friday.</p>');
    ids.market = await draft('Harbour market moves', '<p>Stalls move to the east quay.</p>');
  });

  after(async () => {
    await editor?.close();
  });

  const shots = (name: string) => editor.shots(name);

  it('finds an article by a word that is only in its body', async () => {
    await page.goto(`${site.appUrl}/editor/articles`);
    await page.getByLabel('Search title, summary and text').fill(BODY_WORD.toLowerCase());
    await Promise.all([page.waitForURL(/\/editor\/articles\?q=quahogs/), page.click('button:has-text("Filter")')]);
    const rows = page.locator('table.list tbody tr');
    assert.equal(await rows.count(), 1, 'one article matches');
    assert.equal(await rows.locator('td a').first().textContent(), 'Shellfish beds reopen');
    await assertAccessible(page, 'the articles list, searched');
    await shots('desk-01-body-search');
  });

  it('publishes the checked drafts in one action, and only those', async () => {
    await page.goto(`${site.appUrl}/editor/articles?status=draft`);
    await page.check(`#pick-${ids.ferry}`);
    await page.check(`#pick-${ids.market}`);
    await page.selectOption('select[name="action"]', 'publish');
    await Promise.all([page.waitForURL(/\/editor\/articles/), page.click('button:has-text("Apply")')]);
    assert.match((await page.textContent('body')) ?? '', /publish: 2 articles/, 'the notice names the action');
    assert.equal(await status(ids.ferry), 'published');
    assert.equal(await status(ids.market), 'published');
    assert.equal(await status(ids.clams), 'draft', 'an unchecked draft stays a draft');
    await assertAccessible(page, 'the articles list after a bulk action');
    await shots('desk-02-bulk-published');
  });
});
