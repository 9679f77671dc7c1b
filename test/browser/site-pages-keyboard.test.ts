// The public page kinds site-pages.test.ts leaves out, on the sample site as
// `npm start` serves it, in headless Chromium at desktop and phone size: the
// mirrors page, a removed article's 410 page and the app's public
// submission form pass axe-core's WCAG 2 A/AA rules; and a keyboard reaches
// the skip link, the site's navigation and the content, with focus always
// visible. A file of its own so each stays within the runner's time per file.
// Screenshots go to test-output/browser/site-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { checkAtSizes, SIZES } from '../support/axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

/** What has keyboard focus, where it is and how it is drawn. */
interface Focused {
  text: string;
  className: string;
  inSiteNav: boolean;
  inMain: boolean;
  outline: string;
  /** Drawn inside the viewport, not clipped to a pixel. */
  onScreen: boolean;
}

// A string, not a function: the tests compile without the DOM library.
const FOCUSED = `(() => {
  const e = document.activeElement;
  const r = e.getBoundingClientRect();
  const s = getComputedStyle(e);
  return {
    text: e.textContent.trim(),
    className: String(e.className),
    inSiteNav: !!e.closest('nav.site'),
    inMain: !!e.closest('main'),
    outline: s.outlineStyle + ' ' + s.outlineWidth,
    onScreen: r.width > 1 && r.height > 1 && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth,
  };
})()`;

describe('the other public page kinds and keyboard use in a real browser', { timeout: 600_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let chromium: LaunchedChromium;
  let page: Page;

  before(async () => {
    const started = await embeddedTestConfig('site-keyboard', { MIRROR_STATUS_INTERVAL_MS: '0' });
    dataDir = started.dataDir;
    site = await startEmbedded(started.config);
    await waitFor(async () => (await fetch(`${site.mirrorUrl}/mirrors`)).status === 200, {
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

  const check = (name: string, target: string, status = 200, base = site.publicUrl) =>
    checkAtSizes(page, `${base}${target}`, path.join(SCREENSHOTS, `site-${name}`), status);

  it('passes the accessibility checks on the mirrors page, a removed article and the submission form, at both sizes', async () => {
    await check('mirrors', '/mirrors');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` };
    const created = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: 'A story taken down', body: '<p>Gone soon.</p>', status: 'published' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { id, url } = (await created.json()) as { id: number; url: string };
    const hidden = await fetch(`${site.appUrl}/api/moderation/articles/${id}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ action: 'hide', reason: 'Legal request' }),
    });
    assert.equal(hidden.status, 200, await hidden.clone().text());
    await waitFor(async () => (await fetch(`${site.publicUrl}${url}`)).status === 410, {
      what: 'the hidden article answers 410 through the proxy',
      timeoutMs: 30_000,
    });
    await check('gone', url, 410);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'This page has been removed');
    // The app serves the form while open publishing is on (the sample site's setting: held for moderation).
    await check('submit', '/submit', 200, site.appUrl);
  });

  it('lets a keyboard reach the skip link, the site navigation and the content, with focus always visible', async () => {
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await page.goto(`${site.publicUrl}/`);
      await page.keyboard.press('Tab');
      const skip = (await page.evaluate(FOCUSED)) as Focused;
      assert.equal(skip.className, 'skip', `${size}: the first Tab reaches the skip link`);
      assert.ok(skip.onScreen, `${size}: the focused skip link is shown`);
      assert.equal(skip.outline, 'solid 3px', `${size}: the skip link's focus ring`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `site-keyboard-skip-${size}.png`) });
      await page.keyboard.press('Enter');
      await page.keyboard.press('Tab');
      const afterSkip = (await page.evaluate(FOCUSED)) as Focused;
      assert.ok(afterSkip.inMain, `${size}: after the skip link, Tab goes into the content (${afterSkip.text})`);

      await page.goto(`${site.publicUrl}/`);
      const order: Focused[] = [];
      for (let i = 0; i < 40 && !order.some((f) => f.inMain); i++) {
        await page.keyboard.press('Tab');
        order.push((await page.evaluate(FOCUSED)) as Focused);
      }
      const nav = order.findIndex((f) => f.inSiteNav && f.text === 'Latest');
      const main = order.findIndex((f) => f.inMain);
      assert.ok(nav > 0, `${size}: Tab reaches the site navigation: ${order.map((f) => f.text).join(' | ')}`);
      assert.ok(main > nav, `${size}: then the content`);
      for (const f of order) {
        assert.equal(f.outline, 'solid 3px', `${size}: "${f.text}" shows its focus`);
        assert.ok(f.onScreen, `${size}: "${f.text}" is scrolled into view when focused`);
      }
    }
  });
});
