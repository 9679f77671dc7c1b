// Responsive images as Chromium picks them (headless, playwright-core),
// through the cache proxy of the embedded site: an article with a 2400 px
// lead photo. On a phone the article fetches a narrow AVIF rendition, on a
// desktop at 2x a wide one; the listing's thumbnail is small on a desktop
// and full width on a phone; each page fetches one rendition of the image
// and never the original JPEG; the pages reserve the image's space and pass
// axe (WCAG 2.0/2.1 A and AA). Screenshots: test-output/browser/images-*.png.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 };
const PHONE_2X = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 };
const DESKTOP_2X = { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 };

interface Shown {
  /** The rendition the browser chose, and the media URLs the page fetched. */
  currentSrc: string;
  fetched: string[];
  /** The image's laid-out CSS width, and whether space was reserved (height before it loaded). */
  cssWidth: number;
}

describe('responsive images in a real browser', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let chromium: LaunchedChromium;
  let articleUrl: string;
  let sha: string;

  before(async () => {
    let config;
    ({ dataDir, config } = await embeddedTestConfig('images-browser'));
    site = await startEmbedded(config);
    const token = site.adminToken!;
    const svg = `<svg width="2400" height="1600"><rect width="100%" height="100%" fill="#2b6cb0"/><rect x="300" y="300" width="1800" height="1000" fill="#f6ad55"/><circle cx="1200" cy="800" r="350" fill="#22543d"/></svg>`;
    const jpeg = await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
    const uploaded = await fetch(`${site.appUrl}/api/media?name=harbour.jpg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: new Uint8Array(jpeg),
    });
    assert.equal(uploaded.status, 201, await uploaded.clone().text());
    sha = ((await uploaded.json()) as { sha256: string }).sha256;
    const saved = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'The harbour at dawn',
        summary: 'Boats return to the quay.',
        body: '<p>The boats came back before sunrise.</p>',
        status: 'published',
        leadImage: sha,
        leadImageAlt: 'Boats at the quay, an orange sail against a blue sky',
      }),
    });
    assert.equal(saved.status, 201, await saved.clone().text());
    articleUrl = ((await saved.json()) as { url: string }).url;
    await waitFor(
      async () => {
        const home = await (await fetch(`${site.publicUrl}/`)).text();
        const article = await (await fetch(`${site.publicUrl}${articleUrl}`)).text();
        return home.includes(`${sha}-320.avif`) && article.includes(`${sha}-1280.avif`);
      },
      { what: 'the article and home page offering the renditions through the proxy' },
    );
    chromium = await launchChromium({ width: 1280, height: 900 });
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  /** Opens `url` in a fresh context (nothing cached) and reports what the image element chose and fetched. */
  async function show(
    url: string,
    device: typeof PHONE,
    selector: string,
    screenshot: string,
  ): Promise<Shown & { page: Page; close(): Promise<void> }> {
    const context = await chromium.browser.newContext(device);
    const page = await context.newPage();
    const fetched: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/media/')) fetched.push(new URL(request.url()).pathname);
    });
    await page.goto(`${site.publicUrl}${url}`);
    const image = page.locator(selector).first();
    await image.scrollIntoViewIfNeeded();
    await waitFor(() => image.evaluate((el) => (el as unknown as { complete: boolean }).complete), {
      what: `${selector} on ${url} to load`,
    });
    const shown = await image.evaluate((el) => {
      const img = el as unknown as { currentSrc: string; getBoundingClientRect(): { width: number } };
      return { currentSrc: new URL(img.currentSrc).pathname, cssWidth: img.getBoundingClientRect().width };
    });
    await page.screenshot({ path: path.join(SCREENSHOTS, `images-${screenshot}.png`), fullPage: true });
    return { ...shown, fetched, page, close: () => context.close() };
  }

  async function assertAccessible(page: Page, what: string): Promise<void> {
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `${what} has accessibility violations`,
    );
  }

  /** The width in a rendition's path (/media/SHA-WIDTH.ext). */
  const widthOf = (p: string) => Number(/-(\d+)\.(avif|webp)$/.exec(p)?.[1]);

  it('fetches a narrow AVIF rendition of the lead image on a phone and a wide one on a 2x desktop, never the original', async () => {
    const results: Record<string, number> = {};
    for (const [name, device] of Object.entries({ phone: PHONE, 'phone-2x': PHONE_2X, 'desktop-2x': DESKTOP_2X })) {
      const shown = await show(articleUrl, device, 'figure.lead img', `article-${name}`);
      try {
        assert.match(shown.currentSrc, new RegExp(`^/media/${sha}-\\d+\\.avif$`), `${name}: an AVIF rendition`);
        // Chromium may ask for the same URL twice (a speculative fetch, then the image's own): the point is which.
        assert.deepEqual([...new Set(shown.fetched)], [shown.currentSrc], `${name}: fetched that rendition alone`);
        // The slot is the column (site.css: .wrap is 46rem less 2rem of padding) or the phone's width less 2rem.
        const needed = Math.min(device.viewport.width - 32, 704) * device.deviceScaleFactor;
        assert.ok(
          Math.round(shown.cssWidth) === Math.min(device.viewport.width - 32, 704),
          `${name}: laid out ${shown.cssWidth}px wide`,
        );
        const width = widthOf(shown.currentSrc);
        assert.ok(width >= needed * 0.8, `${name}: ${width} px is sharp enough for ${needed} device pixels`);
        results[name] = width;
        if (name !== 'phone-2x') await assertAccessible(shown.page, `the article (${name})`);
      } finally {
        await shown.close();
      }
    }
    assert.equal(results.phone, 640, 'a 358 px slot at 1x takes the 640 px rendition');
    assert.equal(results['desktop-2x'], 1280, 'a 704 px slot at 2x takes the widest');
    assert.ok(results.phone < results['phone-2x'] && results['phone-2x'] <= results['desktop-2x']);
  });

  it("sizes the listing thumbnail to its slot: 320 px on a desktop, the phone's width on a phone", async () => {
    const desktop = await show('/', DESKTOP_2X, 'picture.thumb img', 'home-desktop-2x');
    try {
      assert.equal(desktop.cssWidth, 144, 'a 9rem thumbnail beside the text');
      assert.equal(desktop.currentSrc, `/media/${sha}-320.avif`, '144 px at 2x: the 320 px rendition');
      assert.deepEqual(desktop.fetched, [desktop.currentSrc]);
      await assertAccessible(desktop.page, 'the home page (desktop)');
    } finally {
      await desktop.close();
    }
    const phone = await show('/', PHONE, 'picture.thumb img', 'home-phone');
    try {
      assert.equal(Math.round(phone.cssWidth), 358, 'full width on a phone');
      assert.equal(phone.currentSrc, `/media/${sha}-640.avif`, '358 px at 1x: the 640 px rendition');
      await assertAccessible(phone.page, 'the home page (phone)');
    } finally {
      await phone.close();
    }
  });

  it('reserves the image space before it loads, and loads listing thumbnails lazily', async () => {
    const context = await chromium.browser.newContext(PHONE);
    try {
      const page = await context.newPage();
      // The images never arrive: the layout must already hold their space.
      await page.route('**/media/**', () => undefined);
      await page.goto(`${site.publicUrl}${articleUrl}`, { waitUntil: 'domcontentloaded' });
      const box = await page.locator('figure.lead img').boundingBox();
      assert.ok(box && Math.round(box.height) === Math.round((358 * 1600) / 2400), `reserved ${box?.height}px`);
      assert.equal(await page.locator('figure.lead img').getAttribute('loading'), null, 'the lead image loads at once');
      await page.goto(`${site.publicUrl}/`, { waitUntil: 'domcontentloaded' });
      assert.equal(await page.locator('picture.thumb img').first().getAttribute('loading'), 'lazy');
    } finally {
      await context.close();
    }
  });
});
