// No dead ends, in headless Chromium without JavaScript (the path that has
// no localStorage to fall back on), at desktop and phone sizes: hiding
// without a reason, a bad upload, an edit form whose token expired, a form
// posted after the session ended (through the login and back), and the
// public form. Each error page names the problem in a summary whose link
// takes the reader to the field, keeps what was typed, and passes axe.
// Screenshots go to test-output/browser/dead-end-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Config } from '../../common/config';
import { startEmbedded, Embedded } from '../../bin/embedded';
import { assertAccessible, SIZES } from '../support/axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const ADMIN_PASSWORD = 'browser-test-password';

describe('no dead ends in a real browser without JavaScript', () => {
  let site: Embedded;
  let chromium: LaunchedChromium;
  let browser: Browser;
  let dataDir: string;
  let appUrl: string;

  const api = async (method: string, p: string, body: unknown, token = site.adminToken) => {
    const res = await fetch(`${appUrl}/api${p}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<{ id: number }>;
  };
  const title = async (id: number) =>
    (await (
      await fetch(`${appUrl}/api/articles/${id}`, { headers: { authorization: `Bearer ${site.adminToken}` } })
    ).json()) as unknown;

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('browser-dead-ends'));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config);
    appUrl = site.appUrl;
    chromium = await launchChromium(SIZES.desktop);
    browser = chromium.browser;
    await api('PUT', '/settings', { openPublishing: 'held' });
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  const shot = (target: Page, name: string) =>
    target.screenshot({ path: path.join(SCREENSHOTS, `dead-end-${name}.png`), fullPage: true });

  async function signedIn(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${appUrl}/editor/login`);
    await page.fill('input[name="name"]', 'admin');
    await page.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(`${appUrl}/editor`), page.click('button[type="submit"]')]);
    return page;
  }

  /** The summary names the problem and its link lands on the field. */
  async function summaryLeadsTo(page: Page, field: string, message: RegExp) {
    assert.match((await page.textContent('#error-summary')) ?? '', message);
    await page.click('#error-summary a');
    assert.equal(new URL(page.url()).hash, `#${field}`);
    assert.equal(await page.locator(`#${field}`).count(), 1);
  }

  for (const [size, viewport] of Object.entries(SIZES)) {
    it(`hiding without a reason comes back to the item's page naming the reason (${size})`, async () => {
      const { id } = await api('POST', '/articles', {
        title: `Hide me ${size}`,
        body: '<p>x</p>',
        status: 'published',
      });
      const page = await signedIn(viewport);
      await page.goto(`${appUrl}/editor/articles/${id}`);
      const [res] = await Promise.all([page.waitForResponse(/moderation/), page.click('button[value="hide"]')]);
      assert.equal(res.status(), 400);
      await page.waitForLoadState();
      await shot(page, `hide-${size}`);
      await summaryLeadsTo(page, 'f-reason', /hiding needs a reason/);
      assert.equal(await page.getAttribute('#f-reason', 'aria-invalid'), 'true');
      await assertAccessible(page, `hide refusal at ${size}`, { javaScript: false });
      assert.match(JSON.stringify(await title(id)), /"status":"published"/);
      await page.context().close();
    });

    it(`a bad upload comes back to the library naming the file field (${size})`, async () => {
      const page = await signedIn(viewport);
      await page.goto(`${appUrl}/editor/media`);
      await page.setInputFiles('input[name="file"]', {
        name: 'notes.png',
        mimeType: 'image/png',
        buffer: Buffer.from('plain text pretending to be a picture\n'.repeat(10)),
      });
      const [res] = await Promise.all([
        page.waitForResponse(/\/editor\/media$/),
        page.click('form[action="/editor/media"] button[type="submit"]'),
      ]);
      assert.equal(res.status(), 415);
      await page.waitForLoadState();
      await shot(page, `upload-${size}`);
      await summaryLeadsTo(page, 'f-file', /./);
      await assertAccessible(page, `upload refusal at ${size}`, { javaScript: false });
      await page.context().close();
    });

    it(`an edit form whose token expired comes back with the text typed, and saves on the next try (${size})`, async () => {
      const { id } = await api('POST', '/articles', { title: `Expiring ${size}`, body: '<p>old</p>' });
      const page = await signedIn(viewport);
      await page.goto(`${appUrl}/editor/articles/${id}`);
      await page.fill('#article-form input[name="title"]', `Expired but kept ${size}`);
      await page.fill('#article-form textarea[name="body"]', '<p>An hour of careful writing</p>');
      // The form was opened under an earlier session (logged in again since): its token no longer matches.
      await page.evaluate(() => {
        const doc = (globalThis as unknown as { document: { querySelector(s: string): { value: string } } }).document;
        doc.querySelector('#article-form input[name="_csrf"]').value = 'stale-token-of-an-earlier-session';
      });
      const [res] = await Promise.all([
        page.waitForResponse(new RegExp(`/editor/articles/${id}$`)),
        page.click('#article-form button[value="save"]'),
      ]);
      assert.equal(res.status(), 403);
      await page.waitForLoadState();
      await shot(page, `expired-edit-${size}`);
      assert.match((await page.textContent('#error-summary')) ?? '', /your session form expired/);
      assert.equal(await page.inputValue('#article-form input[name="title"]'), `Expired but kept ${size}`);
      assert.equal(await page.inputValue('#article-form textarea[name="body"]'), '<p>An hour of careful writing</p>');
      assert.match(JSON.stringify(await title(id)), new RegExp(`"title":"Expiring ${size}"`));
      await Promise.all([page.waitForURL(/notice=saved/), page.click('#article-form button[value="save"]')]);
      assert.match(JSON.stringify(await title(id)), new RegExp(`"title":"Expired but kept ${size}"`));
      await page.context().close();
    });

    it(`a form posted after the session ended goes through the login and comes back (${size})`, async () => {
      const { id } = await api('POST', '/articles', { title: `Session ends ${size}`, body: '<p>old</p>' });
      const page = await signedIn(viewport);
      await page.goto(`${appUrl}/editor/articles/${id}`);
      await page.fill('#article-form textarea[name="body"]', '<p>Typed as the session ran out</p>');
      await page.context().clearCookies({ name: 'hs_session' });
      const [res] = await Promise.all([
        page.waitForResponse(new RegExp(`/editor/articles/${id}$`)),
        page.click('#article-form button[value="save"]'),
      ]);
      assert.equal(res.status(), 401);
      await page.waitForLoadState();
      await shot(page, `session-ended-login-${size}`);
      await assertAccessible(page, `login with a kept form at ${size}`, { javaScript: false });
      await page.fill('input[name="name"]', 'admin');
      await page.fill('input[name="password"]', ADMIN_PASSWORD);
      await page.click('button[type="submit"]');
      await page.waitForSelector('text=Check your form and submit it again');
      await shot(page, `session-ended-resubmit-${size}`);
      await assertAccessible(page, `resubmit page at ${size}`, { javaScript: false });
      assert.equal(
        await page.inputValue('textarea[name="body"], input[name="body"]'),
        '<p>Typed as the session ran out</p>',
      );
      await Promise.all([page.waitForURL(/notice=saved/), page.click('text=Submit again')]);
      assert.match(JSON.stringify(await title(id)), /Typed as the session ran out/);
      await page.context().close();
    });

    it(`the public form comes back with the story when its token expired (${size})`, async () => {
      const context = await browser.newContext({ viewport, javaScriptEnabled: false });
      const page = await context.newPage();
      const open = await page.goto(`${appUrl}/submit`);
      if (open?.status() === 404) {
        await context.close();
        assert.fail('open publishing should be on for this test');
      }
      await page.fill('input[name="title"]', `Reader story ${size}`);
      await page.fill('textarea[name="body"]', 'Seen this morning.\n\nMore later.');
      await context.clearCookies({ name: 'hs_csrf' });
      const [res] = await Promise.all([page.waitForResponse(/\/submit$/), page.click('button[type="submit"]')]);
      assert.equal(res.status(), 403);
      await page.waitForLoadState();
      await shot(page, `public-expired-${size}`);
      await assertAccessible(page, `public form refusal at ${size}`, { javaScript: false });
      assert.equal(await page.inputValue('textarea[name="body"]'), 'Seen this morning.\n\nMore later.');
      const [sent] = await Promise.all([page.waitForResponse(/\/submit$/), page.click('button[type="submit"]')]);
      assert.equal(sent.status(), 201);
      await context.close();
    });
  }
});
