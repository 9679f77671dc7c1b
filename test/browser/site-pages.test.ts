// Every public page kind of the sample site, as `npm start` serves it (the
// embedded site's cache proxy, no `hyperstatic rebuild`), in headless
// Chromium at desktop and phone size: the home page, an article, an event,
// the articles root and a month archive, a section, a tag, the section and
// tag indexes and the 404 page pass axe-core's WCAG 2 A/AA rules; the 404
// page and the indexes show what readers need (the other page kinds and
// keyboard use: site-pages-keyboard.test.ts). Screenshots go to
// test-output/browser/site-*.png (git-ignored).
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

describe('every public page kind in a real browser', { timeout: 600_000 }, () => {
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

  /** Opens `target` through the proxy (or `base`) at each size: axe, a screenshot each (test-output/browser/site-*). */
  const check = (name: string, target: string, status = 200, base = site.publicUrl) =>
    checkAtSizes(page, `${base}${target}`, path.join(SCREENSHOTS, `site-${name}`), status);

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
