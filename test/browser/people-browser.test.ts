// People in headless Chromium, desktop and phone (issue 16 item 4): an
// article with two co-authors shows both display names in its byline, each
// linking to the author's page, which shows the name, the bio and their
// items; /authors lists them. Every page passes axe. An admin changes a
// display name in user management and the public byline follows.
// Screenshots go to test-output/browser/people-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import { waitFor } from '../harness/wait';
import { checkAtSizes, SIZES } from '../support/axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const ADMIN_PASSWORD = 'people-browser-password';

describe('co-authors and author pages in a real browser', { timeout: 280_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let chromium: LaunchedChromium;
  let page: Page;

  const api = async (method: string, p: string, body: unknown) => {
    const res = await fetch(`${site.appUrl}/api${p}`, {
      method,
      headers: { authorization: `Bearer ${site.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<{ url: string }>;
  };
  const mirrored = (target: string, text: string) =>
    waitFor(async () => (await (await fetch(`${site.mirrorUrl}${target}`)).text()).includes(text), {
      what: `${target} showing "${text}"`,
      timeoutMs: 60_000,
    });
  const check = (name: string, target: string) =>
    checkAtSizes(page, `${site.publicUrl}${target}`, path.join(SCREENSHOTS, `people-${name}`));

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('people-browser', { MIRROR_STATUS_INTERVAL_MS: '0' }));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config);
    chromium = await launchChromium(SIZES.desktop);
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    for (const [name, displayName, bio] of [
      ['amara', 'Amara Okafor', 'Amara covers the harbour, the courts and the city council.'],
      ['jonas', 'جوناس ليندكفيست', ''],
    ]) {
      await api('POST', '/users', { name, role: 'editor', password: null });
      await api('PUT', `/users/${name}/profile`, { displayName, bio });
    }
    await api('POST', '/articles', {
      title: 'Harbour wall repaired after the storm',
      summary: 'Two reporters followed the repairs for a week.',
      body: '<p>The wall holds.</p>',
      section: 'news',
      status: 'published',
      authors: ['amara', 'jonas'],
    });
    await api('POST', '/events', {
      title: 'Harbour open evening',
      body: '<p>Tours of the repaired wall.</p>',
      startsAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      status: 'published',
      authors: ['amara'],
    });
    await mirrored('/authors/amara-okafor', 'Harbour open evening');
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('shows both co-authors in the byline, each linking to an author page with name, bio and items', async () => {
    await check('article', '/news/harbour-wall-repaired-after-the-storm');
    const byline = page.getByRole('article').locator('p.meta').first();
    assert.match((await byline.textContent()) ?? '', /By Amara Okafor and جوناس ليندكفيست/);
    assert.equal(await byline.locator('a[rel="author"]').count(), 2, 'one link per author');

    await page.setViewportSize(SIZES.desktop);
    await Promise.all([
      page.waitForURL(/\/authors\/amara-okafor$/),
      byline.getByRole('link', { name: 'Amara Okafor' }).click(),
    ]);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Amara Okafor');
    assert.ok(await page.getByText('Amara covers the harbour, the courts and the city council.').isVisible());
    const main = page.getByRole('main');
    assert.ok(await main.getByRole('link', { name: 'Harbour wall repaired after the storm' }).isVisible());
    assert.ok(await main.getByRole('link', { name: 'Harbour open evening' }).isVisible(), 'her event too');
    await check('author', '/authors/amara-okafor');
  });

  it('lists the authors on /authors', async () => {
    await check('authors', '/authors');
    const main = page.getByRole('main');
    for (const name of ['Amara Okafor', 'جوناس ليندكفيست'])
      assert.ok(await main.getByRole('link', { name }).isVisible(), name);
  });

  it('follows a display name an admin changes in user management', async () => {
    const context = await chromium.browser.newContext({ viewport: SIZES.desktop });
    const editor = await context.newPage();
    await editor.goto(`${site.appUrl}/editor/login`);
    await editor.fill('input[name="name"]', 'admin');
    await editor.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([editor.waitForURL(`${site.appUrl}/editor`), editor.click('button[type="submit"]')]);
    await editor.goto(`${site.appUrl}/editor/users`);
    await Promise.all([
      editor.waitForURL(/\/editor\/users\/amara\/profile$/),
      editor.getByRole('link', { name: 'Profile of amara' }).click(),
    ]);
    // A refusal keeps the form, naming the field.
    await editor.getByLabel('Author page address').fill('Not A Slug');
    await editor.evaluate('document.querySelector("input[name=slug]").removeAttribute("pattern")');
    await editor.getByRole('button', { name: 'Save profile' }).click();
    assert.match((await editor.getByRole('alert').textContent()) ?? '', /slug must be lowercase/);
    await editor.screenshot({ path: path.join(SCREENSHOTS, 'people-editor-profile-refused.png'), fullPage: true });
    await editor.getByLabel('Author page address').fill('amara-okafor');
    await editor.getByLabel('Display name').fill('Amara N. Okafor');
    await Promise.all([
      editor.waitForURL(/\/editor\/users\?notice=/),
      editor.getByRole('button', { name: 'Save profile' }).click(),
    ]);
    await context.close();
    await mirrored('/news/harbour-wall-repaired-after-the-storm', 'Amara N. Okafor');
    await check('article-renamed', '/news/harbour-wall-repaired-after-the-storm');
    assert.match((await page.getByRole('article').locator('p.meta').first().textContent()) ?? '', /Amara N\. Okafor/);
  });
});
