// The newsroom in headless Chromium (Debian's package, driven by
// playwright-core): log in, upload an image, write and publish an article
// with it as the lead image and in the body, read it on the public site
// through the cache proxy (the home page shows the rendition, the article
// the original), hide it and watch it leave the home page, submit
// anonymously (without JavaScript) and moderate. The whole stack runs embedded (app, producer, mirror, proxy).
// Screenshots of the main screens go to test-output/browser/ (git-ignored).
// Chromium is required (test/support/chromium.ts).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import type { Config } from '../../common/config';
import { startEmbedded, Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const ADMIN_PASSWORD = 'browser-test-password';

describe('the newsroom in a real browser', () => {
  let site: Embedded;
  let chromium: LaunchedChromium;
  let browser: Browser;
  let editor: BrowserContext;
  let page: Page;
  let dataDir: string;
  let appUrl: string;
  let publicUrl: string;
  let articleUrl: string;
  let articleEditUrl: string;
  let imagePath: string;

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('browser', {
      MIRROR_STATUS_INTERVAL_MS: '300',
      RELAY_INTERVAL_MS: '200',
    }));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config);
    appUrl = site.appUrl;
    publicUrl = site.publicUrl;
    chromium = await launchChromium({ width: 1280, height: 860 });
    editor = chromium.context;
    browser = chromium.browser;
    page = editor.pages()[0] ?? (await editor.newPage());
  });

  after(async () => {
    await chromium?.close();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  const shot = (name: string, target: Page = page) =>
    target.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const publicHtml = async (p: string) => (await fetch(`${publicUrl}${p}`)).text();

  it('logs in through the login form', async () => {
    await page.goto(`${appUrl}/editor`);
    assert.match(page.url(), /\/editor\/login/);
    await shot('01-login');
    await page.fill('input[name="name"]', 'admin');
    await page.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(`${appUrl}/editor`), page.click('button[type="submit"]')]);
    assert.match((await page.textContent('h1')) ?? '', /Dashboard/);
    await shot('02-dashboard');
  });

  it('uploads an image to the media library', async () => {
    const image = await sharp({ create: { width: 1600, height: 900, channels: 3, background: '#2b6cb0' } })
      .composite([
        {
          input: Buffer.from(
            '<svg width="1600" height="900"><rect x="200" y="200" width="1200" height="500" fill="#f6ad55"/></svg>',
          ),
        },
      ])
      .jpeg()
      .toBuffer();
    await page.goto(`${appUrl}/editor/media`);
    await page.setInputFiles('input[type="file"]', { name: 'harbour.jpg', mimeType: 'image/jpeg', buffer: image });
    await Promise.all([
      page.waitForURL(/\/editor\/media\/[0-9a-f]{64}/),
      page.click('form[enctype] button[type="submit"]'),
    ]);
    const snippet = await page.inputValue('textarea');
    imagePath = /src="(\/media\/[0-9a-f]{64}\.jpg)"/.exec(snippet)![1];
    await shot('03-media-item');
    await page.goto(`${appUrl}/editor/media`);
    await shot('04-media-library');
  });

  it('writes and publishes an article with the image; the propagation panel reports it live on the mirror', async () => {
    await page.goto(`${appUrl}/editor/articles/new`);
    await page.fill('input[name="title"]', 'Harbour lights return');
    await page.fill('textarea[name="summary"]', 'The old harbour is lit again after ten years.');
    // The body as HTML: the rich editor's HTML button shows the textarea itself.
    await page.click('.rich-toolbar button[data-tool="source"]');
    await page.fill(
      'textarea[name="body"]',
      `<p>The lights came back on at dusk.</p><figure><img src="${imagePath}" alt="The harbour"><figcaption>The harbour at dusk</figcaption></figure>`,
    );
    await page.fill('input[name="tags"]', 'Harbour, Night');
    // The lead image: picked from the library in the form (a radio per image), with its alt text.
    const sha256 = /\/media\/([0-9a-f]{64})\.jpg/.exec(imagePath)![1];
    await page.check(`input[name="leadImage"][value="${sha256}"]`);
    await page.fill('input[name="leadImageAlt"]', 'Harbour lights at dusk');
    await page.selectOption('select[name="status"]', 'published');
    await page.click('button[value="preview"]');
    await page.waitForSelector('.preview img');
    await shot('05-article-preview');
    await Promise.all([page.waitForURL(/\/editor\/articles\/\d+\?notice=/), page.click('button[value="save"]')]);
    articleEditUrl = page.url().split('?')[0];
    articleUrl = /Address: <code>([^<]+)<\/code>/.exec(await page.content())![1];
    // editor.js refreshes the panel until every mirror serves the new version
    // (the editor's CSP forbids eval, so the wait polls with a selector).
    await page.locator('#propagation', { hasText: /live on 1\/1 mirrors/ }).waitFor({ timeout: 20_000 });
    await shot('06-article-saved-propagation');
  });

  it('shows the article and its image on the public site through the cache proxy', async () => {
    const reader = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const publicPage = await reader.newPage();
    const res = await publicPage.goto(`${publicUrl}${articleUrl}`);
    assert.equal(res?.status(), 200);
    assert.match((await publicPage.textContent('body')) ?? '', /Harbour lights return/);
    const width = await publicPage.$eval('img[alt="The harbour"]', (img) => {
      const loaded = img as unknown as { complete: boolean; naturalWidth: number };
      return loaded.complete && loaded.naturalWidth;
    });
    assert.equal(width, 1600, 'the image loads from the mirror through the proxy');
    type Img = {
      decode(): Promise<void>;
      currentSrc: string;
      naturalWidth: number;
      getAttribute(name: string): string | null;
    };
    const loaded = (img: unknown) => {
      const el = img as Img;
      return el
        .decode()
        .then(() => ({ src: el.currentSrc, naturalWidth: el.naturalWidth, width: el.getAttribute('width') }));
    };
    const lead = await publicPage.locator('figure.lead img[alt="Harbour lights at dusk"]').evaluate(loaded);
    // A <picture>: the browser picks a responsive AVIF rendition of the upload (app/media/renditions.ts), the original stays the fallback.
    const stem = imagePath.replace(/\.jpg$/, '');
    const picked = new RegExp(`${stem}-(\\d+)\\.avif$`).exec(lead.src);
    assert.ok(picked, `the article shows a rendition of the upload as its lead image (${lead.src})`);
    assert.ok(lead.naturalWidth > 0, 'the rendition loaded');
    assert.equal(
      await publicPage.locator('figure.lead img[alt="Harbour lights at dusk"]').getAttribute('src'),
      imagePath,
      'the original is the fallback',
    );
    await shot('07-public-article', publicPage);
    await publicPage.goto(`${publicUrl}/`);
    assert.match(await publicPage.content(), /Harbour lights return/);
    const thumb = publicPage.locator('picture.thumb img[alt="Harbour lights at dusk"]').first();
    await thumb.scrollIntoViewIfNeeded();
    const listed = await thumb.evaluate(loaded);
    assert.match(listed.src, /\/media\/[0-9a-f]{64}-\d+\.avif$/, 'home shows a responsive AVIF rendition');
    assert.ok(listed.naturalWidth > 0, 'the thumbnail loaded');
    const rendition = await fetch(listed.src);
    assert.equal(
      rendition.headers.get('content-type'),
      'image/avif',
      'the proxy serves the rendition the mirror holds',
    );
    await shot('08-public-home', publicPage);
    await reader.close();
  });

  it('hides the article with a reason; it disappears from the public home page', async () => {
    await page.goto(articleEditUrl);
    await page.fill('input[name="reason"]', 'Embargo until Monday');
    await Promise.all([page.waitForURL(/notice=/), page.click('button[value="hide"]')]);
    assert.match((await page.textContent('.revisions')) ?? '', /Embargo until Monday/);
    await waitFor(async () => !(await publicHtml('/')).includes('Harbour lights return'), {
      what: 'the hidden article leaves the home page',
      timeoutMs: 20_000,
    });
    const gone = await fetch(`${publicUrl}${articleUrl}`);
    assert.equal(gone.status, 410);
    await page.reload();
    await page.locator('#propagation', { hasText: /removed \(410\) on 1\/1 mirrors/ }).waitFor({ timeout: 20_000 });
    await shot('09-article-hidden');
  });

  it('accepts an anonymous submission from a browser without JavaScript and lets a moderator publish it', async () => {
    const anonymous = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    const form = await anonymous.newPage();
    await form.goto(`${appUrl}/submit`);
    await form.fill('input[name="title"]', 'Street market reopens');
    // Plain text without JavaScript: markup a reader types is shown as text, never run.
    await form.fill('textarea[name="body"]', 'Stalls are back on Saturday.\n\n<script>alert(1)</script>');
    await shot('10-public-submit-form-mobile', form);
    await form.click('button[type="submit"]');
    assert.match((await form.textContent('main')) ?? '', /waits for a moderator/);
    await shot('11-public-submitted-mobile', form);
    await anonymous.close();

    await page.goto(`${appUrl}/editor/moderation`);
    assert.match((await page.textContent('main')) ?? '', /Street market reopens/);
    await shot('12-moderation-queue');
    const item = page.locator('.queue-item', { hasText: 'Street market reopens' });
    await Promise.all([page.waitForURL(/notice=/), item.locator('button[value="publish"]').click()]);
    await waitFor(async () => (await publicHtml('/')).includes('Street market reopens'), {
      what: 'the moderated submission reaches the home page',
      timeoutMs: 20_000,
    });
  });

  it('shows the articles list, users page and a phone-sized editor', async () => {
    await page.goto(`${appUrl}/editor/articles?q=market`);
    assert.match((await page.textContent('table')) ?? '', /Street market reopens/);
    await shot('13-articles-search');
    await page.goto(`${appUrl}/editor/users`);
    await shot('14-users');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(articleEditUrl);
    await shot('15-article-edit-mobile');
  });
});
