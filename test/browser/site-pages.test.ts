// Every public page kind of the sample site, as `npm start` serves it (the
// embedded site's cache proxy, no `hyperstatic rebuild`), in headless
// Chromium at desktop and phone size: the home page, an article, an event,
// the articles root and a month archive, a section, a tag, the section and
// tag indexes and the 404 page pass axe-core's WCAG 2 A/AA rules; the 404
// page and the indexes show what readers need. Screenshots go to
// test-output/browser/site-*.png (git-ignored).
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

const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

async function assertAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
  const report = violations
    .map((v) => `- ${v.id}: ${v.help}\n` + v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n'))
    .join('\n');
  assert.equal(violations.length, 0, `${what} (${page.url()}) has accessibility violations:\n${report}`);
}

describe('every public page kind in a real browser', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let chromium: LaunchedChromium;
  let page: Page;

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('site-pages-browser', { MIRROR_STATUS_INTERVAL_MS: '0' }));
    site = await startEmbedded(config);
    await waitFor(async () => (await fetch(`${site.mirrorUrl}/tags`)).status === 200, {
      what: 'the sample site rendered and mirrored',
      timeoutMs: 60_000,
    });
    chromium = await launchChromium(SIZES.desktop);
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  /** Opens `target` through the proxy at each size: the status, axe with no violations, a screenshot each. */
  async function check(name: string, target: string, status = 200): Promise<void> {
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      const res = await page.goto(`${site.publicUrl}${target}`);
      assert.equal(res?.status(), status, `${target} at ${size}`);
      await assertAccessible(page, `${name} at ${size} size`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `site-${name}-${size}.png`), fullPage: true });
    }
  }

  it('serves a styled 404 page for a missing path, in the site language, with ways back', async () => {
    await check('404', '/no/such/page', 404);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Page not found');
    assert.ok(await page.getByRole('link', { name: 'the front page' }).isVisible());
    const nav = page.getByRole('navigation', { name: 'Site' });
    for (const name of ['News', 'Culture', 'Opinion', 'Events'])
      assert.ok(await nav.getByRole('link', { name, exact: true }).isVisible(), `the header links ${name}`);
    // The stylesheet applied: the header's bottom rule is drawn.
    const rule = await page.evaluate('getComputedStyle(document.querySelector("header.site")).borderBottomStyle');
    assert.equal(rule, 'solid');
  });

  it('lists the sections and the tags, each linking to its listing', async () => {
    await check('sections', '/sections');
    await page.getByRole('main').getByRole('link', { name: 'Culture' }).click();
    await page.waitForURL(/\/sections\/culture$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Culture');

    await check('tags', '/tags');
    await page.getByRole('main').getByRole('link', { name: 'Floods' }).click();
    await page.waitForURL(/\/tags\/floods$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Floods');
  });

  it('passes the accessibility checks on every other page kind, at desktop and phone size', async () => {
    await check('home', '/');
    assert.equal(await page.getByText('River district residents organise flood watch').count(), 1, 'featured once');
    await check('article', '/news/river-district-residents-organise-flood-watch');
    const eventPath = await page.evaluate(async () => {
      const html = await (await fetch('/events')).text();
      return /<a href="(\/event\/[^"]+)">/.exec(html)?.[1];
    });
    assert.ok(eventPath);
    await check('event', eventPath);
    await check('events', '/events');
    await check('articles', '/articles');
    const month = await page.locator('.months a').first().getAttribute('href');
    assert.ok(month, 'the articles root links a month');
    await check('month', month);
    await check('section', '/sections/news');
    await check('tag', '/tags/community');
  });
});
