// Accounts and moderation limits in headless Chromium, desktop and phone:
// changing your own password (a refusal keeps the form, a success ends the
// other sessions), the admin's audit log with its filters, and what a
// moderator is offered in the queue and on someone else's draft.
// Screenshots go to test-output/browser/ (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Config } from '../../common/config';
import { startEmbedded, Embedded } from '../../bin/embedded';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const ADMIN_PASSWORD = 'browser-test-password';
const MOD_PASSWORD = 'moderator long secret 5';
const PHONE = { width: 390, height: 844 };

describe('accounts and moderation limits in a real browser', () => {
  let site: Embedded;
  let chromium: LaunchedChromium;
  let browser: Browser;
  let dataDir: string;
  let appUrl: string;
  let draftId: number;

  const api = async (method: string, p: string, body: unknown, token = site.adminToken) => {
    const res = await fetch(`${appUrl}/api${p}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<{ id: number }>;
  };

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('browser-accounts', { RELAY_INTERVAL_MS: '200' }));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config);
    appUrl = site.appUrl;
    chromium = await launchChromium({ width: 1280, height: 860 });
    browser = chromium.browser;
    await api('POST', '/users', { name: 'mod2', role: 'moderator', password: MOD_PASSWORD });
    draftId = (await api('POST', '/articles', { title: 'An editor’s unfinished draft', body: '<p>Not yet.</p>' })).id;
    await api('POST', '/submissions', { title: 'Water main burst on Elm Street', body: '<p>Seen at 7am.</p>' }, '');
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  const shot = (target: Page, name: string) =>
    target.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  async function signedIn(name: string, password: string, viewport = { width: 1280, height: 860 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${appUrl}/editor/login`);
    await page.fill('input[name="name"]', name);
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForURL(`${appUrl}/editor`), page.click('button[type="submit"]')]);
    return page;
  }

  it('changes your own password: a mismatch keeps the form with the field named; success ends the other sessions', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD);
    const other = await signedIn('admin', ADMIN_PASSWORD, PHONE);
    await page.goto(`${appUrl}/editor/account`);
    await page.fill('input[name="currentPassword"]', ADMIN_PASSWORD);
    await page.fill('input[name="newPassword"]', 'a brand new secret 1');
    await page.fill('input[name="confirmPassword"]', 'a brand new secret 2');
    await page.click('#password button[type="submit"]');
    assert.match((await page.textContent('#password .error')) ?? '', /the two new passwords differ/);
    assert.equal(await page.getAttribute('label.invalid input', 'name'), 'confirmPassword');
    await shot(page, 'accounts-01-password-mismatch-desktop');

    await page.fill('input[name="currentPassword"]', ADMIN_PASSWORD);
    await page.fill('input[name="newPassword"]', 'a brand new secret 1');
    await page.fill('input[name="confirmPassword"]', 'a brand new secret 1');
    await page.click('#password button[type="submit"]');
    assert.match((await page.textContent('.notice')) ?? '', /password changed; 1 other session ended/);
    await shot(page, 'accounts-02-password-changed-desktop');

    await other.goto(`${appUrl}/editor/account`);
    assert.match(other.url(), /\/editor\/login/, 'the phone session was ended');
    await other.fill('input[name="name"]', 'admin');
    await other.fill('input[name="password"]', 'a brand new secret 1');
    // Back where it was going: the login form keeps the page asked for.
    await Promise.all([other.waitForURL(`${appUrl}/editor/account`), other.click('button[type="submit"]')]);
    await shot(other, 'accounts-03-account-phone');
    await page.context().close();
    await other.context().close();
  });

  it('shows the audit log to an admin, filtered by action, on desktop and phone', async () => {
    for (const [viewport, suffix] of [
      [{ width: 1280, height: 860 }, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const page = await signedIn('admin', 'a brand new secret 1', viewport);
      await page.goto(`${appUrl}/editor/audit`);
      const text = (await page.textContent('table.audit')) ?? '';
      for (const action of ['password_changed', 'login', 'user_created']) assert.ok(text.includes(action), action);
      await shot(page, `accounts-04-audit-${suffix}`);
      await page.selectOption('select[name="action"]', 'password_changed');
      await Promise.all([page.waitForURL(/action=password_changed/), page.click('form.filters button')]);
      assert.equal(await page.locator('table.audit tbody tr').count(), 1);
      await shot(page, `accounts-05-audit-filtered-${suffix}`);
      // The page is no wider than the phone: the table scrolls inside its box.
      const width = await page
        .locator('html')
        .evaluate((html) => (html as unknown as { scrollWidth: number }).scrollWidth);
      assert.ok(width <= viewport.width, `page width ${width} fits ${viewport.width}`);
      await page.context().close();
    }
  });

  it("offers a moderator only publish and hide on a submission, and nothing on an editor's draft", async () => {
    for (const [viewport, suffix] of [
      [{ width: 1280, height: 860 }, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const page = await signedIn('mod2', MOD_PASSWORD, viewport);
      await page.goto(`${appUrl}/editor/moderation`);
      const card = page.locator('article.queue-item', { hasText: 'Water main burst' });
      assert.equal(await card.locator('button[value="publish"]').count(), 1);
      assert.equal(await card.locator('button[value="hide"]').count(), 1);
      assert.equal(await card.locator('button[value="feature"]').count(), 0);
      await shot(page, `accounts-06-moderator-queue-${suffix}`);
      await page.goto(`${appUrl}/editor/articles/${draftId}`);
      assert.equal(await page.locator('button[name="action"]').count(), 0);
      await shot(page, `accounts-07-moderator-draft-${suffix}`);
      await page.context().close();
    }
  });
});
