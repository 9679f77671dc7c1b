// The mirror list as a reader meets it, in headless Chromium (docs/trust.md,
// "The mirror list"): on the embedded site (SQLite), an operator lists three
// places with the real `hyperstatic mirrors add`; the list travels the feed
// to the mirror and through the cache proxy, a reader follows the footer
// link from an article to /mirrors, sees every place with its kind, region
// and note, and the page passes axe (WCAG 2 A/AA) on a desktop and a phone
// screen. Screenshots: test-output/browser/mirrors-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';
import { runCli } from '../support/cli';

const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const ONION = `http://${'e'.repeat(56)}.onion/`;

async function assertAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
  const report = violations
    .map((v) => `- ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n')}`)
    .join('\n');
  assert.equal(violations.length, 0, `${what} has accessibility violations:\n${report}`);
}

describe('the mirror list page in a real browser', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let chromium: LaunchedChromium;
  let articleUrl: string;

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('mirror-list', { MIRROR_STATUS_INTERVAL_MS: '0' }));
    site = await startEmbedded(config);
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify({ title: 'Harbour reopens', body: '<p>Ships are back.</p>', status: 'published' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    articleUrl = ((await res.json()) as { url: string }).url;
    const cliEnv = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'silent' };
    for (const args of [
      ['https://mirror-eu.example/', '--region', 'Europe', '--note', 'Run by a press-freedom group in Berlin'],
      [ONION, '--kind', 'onion', '--note', 'Open it in Tor Browser'],
      ['https://static.example/news/', '--kind', 'static', '--region', 'Americas'],
    ]) {
      const run = await runCli(['mirrors', 'add', ...args], { env: cliEnv });
      assert.equal(run.code, 0, run.stderr);
    }
    await waitFor(async () => (await (await fetch(`${site.publicUrl}/mirrors`)).text()).includes('static.example'), {
      what: 'the list reaches the mirror and the proxy through the feed',
      timeoutMs: 30_000,
    });
    chromium = await launchChromium({ width: 1024, height: 800 });
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('is linked from every page footer, lists each place with its kind, region and note, and is accessible', async () => {
    const page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    assert.equal((await page.goto(`${site.publicUrl}${articleUrl}`))?.status(), 200);
    await page.getByRole('contentinfo').getByRole('link', { name: 'Other places to read this site' }).click();
    await page.waitForURL(`${site.publicUrl}/mirrors`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Other places to read this site');
    const items = page.locator('main ul.list > li');
    assert.equal(await items.count(), 3);
    assert.match((await items.nth(0).textContent()) ?? '', /mirror-eu\.example[\s\S]*Mirror · Europe[\s\S]*Berlin/);
    assert.match((await items.nth(1).textContent()) ?? '', /\.onion[\s\S]*Onion service \(Tor Browser\)/);
    assert.match((await items.nth(2).textContent()) ?? '', /static\.example[\s\S]*Static copy · Americas/);
    const json = await page.getByRole('link', { name: '/mirrors.json' }).getAttribute('href');
    assert.equal(json, '/mirrors.json');
    const list = (await (await fetch(`${site.publicUrl}${json}`)).json()) as { mirrors: unknown[] };
    assert.equal(list.mirrors.length, 3);
    await assertAccessible(page, 'the mirror list page');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'mirrors-desktop.png'), fullPage: true });

    const phone = await chromium.browser.newContext({ viewport: { width: 390, height: 844 } });
    const small = await phone.newPage();
    await small.goto(`${site.publicUrl}/mirrors`);
    await assertAccessible(small, 'the mirror list page on a phone');
    const width = await small
      .locator('html')
      .evaluate((html) => (html as unknown as { scrollWidth: number }).scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px phone: it scrolls sideways`);
    await small.screenshot({ path: path.join(SCREENSHOTS, 'mirrors-phone.png'), fullPage: true });
    await phone.close();
  });
});
