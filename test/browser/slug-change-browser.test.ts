// Changing a published article's slug in the editor, in headless Chromium:
// the edit form's slug field moves the article, a slug another article holds
// is refused on the form naming the field, and the old address opened on a
// mirror lands on the new page (a 301), as it does through the redirect
// page's meta refresh on a mirror that predates redirects (served 200).
// axe-core (WCAG 2.0/2.1 A and AA) checks the redirect page and the landing
// page; screenshots at desktop and phone width go to test-output/browser/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { assertAccessible, SIZES } from '../support/axe';
import { SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { startSignedInEditor, type SignedInEditor } from '../support/signed-in-editor';

const PHONE = SIZES.phone;
const VIEWPORTS = [
  [SIZES.desktop, 'desktop'],
  [SIZES.phone, 'phone'],
] as const;

describe('changing a published article’s slug in the browser', () => {
  let signedIn: SignedInEditor;
  let site: Embedded;
  let chromium: LaunchedChromium;
  let editor: Page;
  let editUrl = '';
  const oldPath = '/news/harbour-wall-repairs';
  const newPath = '/news/harbour-wall-repairs-finished';

  before(async () => {
    signedIn = await startSignedInEditor('slug-browser', { RELAY_INTERVAL_MS: '200' });
    ({ site, chromium, page: editor } = signedIn);
  });

  after(async () => {
    await signedIn?.close();
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  async function newArticle(title: string, status: 'draft' | 'published'): Promise<string> {
    await editor.goto(`${site.appUrl}/editor/articles/new`);
    await editor.fill('input[name="title"]', title);
    await editor.click('.rich-toolbar button[data-tool="source"]');
    await editor.fill('textarea[name="body"]', '<p>The harbour wall is being rebuilt stone by stone.</p>');
    await editor.selectOption('#article-form select[name="status"]', status);
    await Promise.all([editor.waitForURL(/\/editor\/articles\/\d+/), editor.click('button[value="save"]')]);
    return editor.url().replace(/\?.*$/, '');
  }

  it('moves a published article to the slug typed in the editor, and refuses one another article holds', async () => {
    await newArticle('Harbour wall notice', 'draft');
    editUrl = await newArticle('Harbour wall repairs', 'published');
    assert.equal(await editor.inputValue('input[name="slug"]'), 'harbour-wall-repairs');
    await waitFor(async () => (await fetch(`${site.mirrorUrl}${oldPath}`)).status === 200, {
      what: 'the article on the mirror',
    });

    // Taken by the draft: the form comes back with the field marked and nothing saved.
    await editor.fill('input[name="slug"]', 'harbour-wall-notice');
    await editor.click('button[value="save"]');
    await editor.waitForSelector('label.invalid input[name="slug"]');
    assert.match(
      (await editor.textContent('body')) ?? '',
      /slug "harbour-wall-notice" is already taken by another article/,
    );
    await shot(editor, 'slug-01-editor-refused-desktop');

    await editor.goto(editUrl);
    await editor.fill('input[name="slug"]', 'harbour-wall-repairs-finished');
    await Promise.all([editor.waitForURL(/notice=saved/), editor.click('button[value="save"]')]);
    assert.equal(await editor.inputValue('input[name="slug"]'), 'harbour-wall-repairs-finished');
    assert.match(
      (await editor.textContent('#slug-hint')) ?? '',
      /Address: \/news\/harbour-wall-repairs-finished\..*old address keeps redirecting/s,
    );
    await shot(editor, 'slug-02-editor-moved-desktop');
    const phone = await chromium.context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(editUrl);
    await shot(phone, 'slug-02-editor-moved-phone');
    await phone.close();
  });

  it('lands on the new page when the old address is opened on a mirror', async () => {
    await waitFor(async () => (await fetch(`${site.mirrorUrl}${oldPath}`, { redirect: 'manual' })).status === 301, {
      what: 'the mirror redirecting the old address',
    });
    for (const [viewport, name] of VIEWPORTS) {
      const reader = await chromium.browser.newContext({ viewport });
      const page = await reader.newPage();
      const res = await page.goto(`${site.mirrorUrl}${oldPath}`);
      assert.equal(res?.status(), 200);
      assert.equal(res?.request().redirectedFrom()?.url(), `${site.mirrorUrl}${oldPath}`);
      assert.equal(new URL(page.url()).pathname, newPath);
      assert.equal(await page.textContent('article h1'), 'Harbour wall repairs');
      await assertAccessible(page, `the landing page (${name})`);
      await shot(page, `slug-03-mirror-landing-${name}`);
      await reader.close();
    }
  });

  it('lands there through the redirect page itself, as a mirror that predates redirects serves it', async () => {
    const moved = await fetch(`${site.mirrorUrl}${oldPath}`, { redirect: 'manual' });
    const html = await moved.text();
    assert.match(html, /<meta http-equiv="refresh" content="0; url=\/news\/harbour-wall-repairs-finished">/);
    for (const [viewport, name] of VIEWPORTS) {
      const reader = await chromium.browser.newContext({ viewport });
      const page = await reader.newPage();
      // To look at it, the page without its refresh (axe's meta-refresh rule passes a 0 s refresh anyway).
      await page.route(`${site.mirrorUrl}/moved-preview`, (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          body: html.replace(/<meta http-equiv="refresh"[^>]*>/, ''),
        }),
      );
      await page.goto(`${site.mirrorUrl}/moved-preview`);
      assert.equal(await page.textContent('h1'), 'This page has moved');
      assert.equal(await page.getAttribute('main a', 'href'), newPath);
      await assertAccessible(page, `the redirect page (${name})`);
      await shot(page, `slug-04-redirect-page-${name}`);
      // An older mirror: the page itself with 200; its refresh takes the reader on.
      await page.route(`${site.mirrorUrl}${oldPath}`, (route) =>
        route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
      );
      await page.goto(`${site.mirrorUrl}${oldPath}`);
      await page.waitForURL(`${site.mirrorUrl}${newPath}`);
      assert.equal(await page.textContent('article h1'), 'Harbour wall repairs');
      await reader.close();
    }
  });
});
