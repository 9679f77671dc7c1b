// Preview links and corrections in a real browser, the whole stack embedded:
// an editor makes a preview link on a draft's edit page, a stranger opens it
// in a fresh browser context (no session, no cookies) and sees the page as
// it will be published, with its listing card; the editor then publishes
// the story and adds a correction, which the public page (through the cache
// proxy) shows with its time. axe-core (WCAG 2.0/2.1 A and AA) checks the
// preview page and the corrected article; screenshots at desktop and phone
// width go to test-output/browser/.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { startEmbedded, Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const ADMIN_PASSWORD = 'preview-browser-password';
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

async function assertAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
  const report = violations
    .map((v) => `- ${v.id}: ${v.help}\n` + v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n'))
    .join('\n');
  assert.equal(violations.length, 0, `${what} has accessibility violations:\n${report}`);
}

describe('preview links and corrections in the browser', () => {
  let site: Embedded;
  let chromium: LaunchedChromium;
  let editor: Page;
  let dataDir: string;
  let previewUrl = '';
  let articleUrl = '';

  before(async () => {
    let config;
    ({ dataDir, config } = await embeddedTestConfig('preview-browser', { RELAY_INTERVAL_MS: '200' }));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config);
    chromium = await launchChromium(DESKTOP);
    editor = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    await editor.goto(`${site.appUrl}/editor`);
    await editor.fill('input[name="name"]', 'admin');
    await editor.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([editor.waitForURL(`${site.appUrl}/editor`), editor.click('button[type="submit"]')]);
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it('makes a preview link on a draft that a fresh browser context opens', async () => {
    await editor.goto(`${site.appUrl}/editor/articles/new`);
    await editor.fill('input[name="title"]', 'Lighthouse keepers return');
    await editor.fill('textarea[name="summary"]', 'The last keepers come back for the winter.');
    // The body as HTML: the rich editor's HTML button shows the textarea itself.
    await editor.click('.rich-toolbar button[data-tool="source"]');
    await editor.fill('textarea[name="body"]', '<p>Two keepers will staff the light until March.</p>');
    await Promise.all([editor.waitForURL(/\/editor\/articles\/\d+/), editor.click('button[value="save"]')]);
    articleUrl = editor.url().replace(/\?.*$/, '');
    await editor.fill('input[name="expiresInHours"]', '24');
    await editor.click('#previews button[type="submit"]');
    await editor.waitForSelector('.created-preview input');
    previewUrl = await editor.inputValue('.created-preview input');
    assert.match(
      previewUrl,
      new RegExp(`^${site.appUrl.replace(/localhost/, '(localhost|127\\.0\\.0\\.1)')}/preview/[A-Za-z0-9_-]{43}$`),
    );
    assert.match((await editor.textContent('.preview-links')) ?? '', /#1 by admin,[\s\S]*expires/);
    await shot(editor, 'preview-01-editor-link-desktop');

    for (const [viewport, name] of [
      [DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const stranger = await chromium.browser.newContext({ viewport });
      const page = await stranger.newPage();
      const res = await page.goto(previewUrl);
      assert.equal(res?.status(), 200);
      assert.equal(res?.headers()['cache-control'], 'no-store, private');
      assert.equal(res?.headers()['x-robots-tag'], 'noindex, nofollow');
      assert.equal(await page.getAttribute('meta[name="robots"]', 'content'), 'noindex, nofollow');
      assert.equal(await page.textContent('article h1'), 'Lighthouse keepers return');
      assert.match(
        (await page.textContent('aside.preview')) ?? '',
        /How it will look in listings:\s*Lighthouse keepers return/,
      );
      assert.equal((await stranger.cookies()).length, 0, 'the stranger has no session');
      await assertAccessible(page, `the preview page (${name})`);
      await shot(page, `preview-02-preview-page-${name}`);
      await stranger.close();
    }
  });

  it('publishes, adds a correction, and shows it on the public page with its time', async () => {
    await editor.goto(articleUrl);
    await editor.selectOption('#article-form select[name="status"]', 'published');
    await Promise.all([editor.waitForURL(/notice=saved/), editor.click('button[value="save"]')]);
    await editor.selectOption('#notes select[name="kind"]', 'correction');
    await editor.fill('#notes textarea[name="text"]', 'An earlier version said the keepers stay until April.');
    await Promise.all([editor.waitForURL(/notice=correction/), editor.click('#notes button[type="submit"]')]);
    await editor.selectOption('#notes select[name="kind"]', 'desk');
    await editor.fill('#notes textarea[name="text"]', 'Deskonly: keeper asked us not to print his age.');
    await Promise.all([editor.waitForURL(/notice=desk/), editor.click('#notes button[type="submit"]')]);
    assert.match((await editor.textContent('#notes')) ?? '', /desk only, never public/);
    await shot(editor, 'preview-03-editor-notes-desktop');

    const publicUrl = `${site.publicUrl}/news/lighthouse-keepers-return`;
    await waitFor(async () => (await (await fetch(publicUrl)).text()).includes('An earlier version said'), {
      what: 'the correction on the public page',
    });
    assert.equal((await fetch(previewUrl)).status, 404, 'a published story has no preview any more');
    for (const [viewport, name] of [
      [DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const reader = await chromium.browser.newContext({ viewport });
      const page = await reader.newPage();
      await page.goto(publicUrl);
      const correction = page.locator('.notes li.note-correction');
      assert.match((await correction.textContent()) ?? '', /^Correction, .+ UTC: An earlier version said/);
      assert.match((await correction.locator('time').getAttribute('datetime')) ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.ok(!(await page.content()).includes('Deskonly'), 'the desk note is not public');
      await assertAccessible(page, `the corrected article (${name})`);
      await shot(page, `preview-04-public-correction-${name}`);
      await reader.close();
    }
  });
});
