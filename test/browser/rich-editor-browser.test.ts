// The rich-text body editor and work that is never lost, in headless
// Chromium (Debian's package through playwright-core), on the whole
// embedded stack: writing with the toolbar and Markdown shortcuts (bold, a
// list, a link, an image from the library with alt text and a caption, an
// audio player), pasting a Word document (fixtures/word-paste.html) cleaned
// by the server's sanitizer, autosave as a draft revision that publishes
// nothing, the unsaved-changes warning, and the text coming back after the
// session is killed mid-edit and the editor logs in again. The public
// submission form gets the reduced toolbar. Screenshots, desktop and phone,
// go to test-output/browser/ (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import type { Config } from '../../common/config';
import { createDatabase, type Database } from '../../common/db/database';
import { startEmbedded, Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const ADMIN_PASSWORD = 'browser-test-password';
const PHONE = { width: 390, height: 844 };
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** A short silent WAV file: the media library takes it as audio. */
function silentWav(): Buffer {
  const samples = 8000;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(8000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples, 40);
  return Buffer.concat([header, Buffer.alloc(samples, 128)]);
}

describe('the rich-text editor and autosave in a real browser', () => {
  let site: Embedded;
  let db: Database;
  let chromium: LaunchedChromium;
  let browser: Browser;
  let editor: BrowserContext;
  let page: Page;
  let dataDir: string;
  let appUrl: string;
  let articleId: number;

  const shot = (name: string, target: Page = page) =>
    target.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const surface = (target: Page = page) => target.locator('.rich-surface');
  const tool = (name: string, target: Page = page) => target.locator(`.rich-toolbar button[data-tool="${name}"]`);
  /**
   * A toolbar button pressed, and the caret back in the text: the editor gives focus back a frame later,
   * and keys typed before that went to the button (a space presses it again).
   */
  const press = async (name: string) => {
    await tool(name).click();
    // Polled with evaluate (the page's CSP forbids the eval waitForFunction would need for a string).
    for (let tries = 0; tries < 250; tries++) {
      if (
        await page.evaluate(
          "document.activeElement !== null && document.activeElement.closest('.rich-surface') !== null",
        )
      )
        return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the caret did not come back to the text after the ${name} button`);
  };
  /** The editor's dialog has closed (on a loaded machine it may close after the next step began). */
  const dialogClosed = () => page.locator('dialog[open]').waitFor({ state: 'detached' });
  const storedBody = async (id: number) => String((await db('articles').where({ id }).first('body')).body);

  async function logIn(target: Page) {
    await target.fill('input[name="name"]', 'admin');
    await target.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([target.waitForURL(/\/editor(\/|$)/), target.click('button[type="submit"]')]);
  }

  async function upload(name: string, mimeType: string, buffer: Buffer) {
    await page.goto(`${appUrl}/editor/media`);
    await page.setInputFiles('input[type="file"]', { name, mimeType, buffer });
    await Promise.all([
      page.waitForURL(/\/editor\/media\/[0-9a-f]{64}/),
      page.click('form[enctype] button[type="submit"]'),
    ]);
  }

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('browser-rich', { RELAY_INTERVAL_MS: '200' }));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config);
    db = createDatabase(config.databaseUrl);
    appUrl = site.appUrl;
    chromium = await launchChromium({ width: 1280, height: 900 });
    editor = chromium.context;
    browser = chromium.browser;
    page = editor.pages()[0] ?? (await editor.newPage());
    await page.goto(`${appUrl}/editor/login`);
    await logIn(page);
    const image = await sharp({ create: { width: 1200, height: 675, channels: 3, background: '#2b6cb0' } })
      .jpeg()
      .toBuffer();
    await upload('pier.jpg', 'image/jpeg', image);
    await upload('interview.wav', 'audio/wav', silentWav());
  });

  after(async () => {
    await chromium?.close();
    await db?.destroy();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('writes with the toolbar and Markdown shortcuts: heading, bold, list, link, image with alt text and caption, audio', async () => {
    await page.goto(`${appUrl}/editor/articles/new`);
    await page.locator('.rich-editor[data-ready="true"]').waitFor();
    assert.equal(await page.locator('textarea[name="body"]').isHidden(), true, 'the editor replaces the textarea');
    await page.fill('input[name="title"]', 'Pier lamps return');
    await surface().click();
    await page.keyboard.type('## The vote\n');
    await page.keyboard.type('The council voted ');
    await press('bold');
    await page.keyboard.type('seven to two');
    await press('bold');
    await page.keyboard.type(' on Tuesday.\n- North pier\nLighthouse cable\n\n');
    await page.keyboard.type('Read the minutes');
    await page.keyboard.press('Shift+Home');
    await tool('link').click();
    await page.fill('dialog input[name="href"]', 'https://example.org/minutes');
    await page.click('dialog button[value="ok"]');
    await dialogClosed();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await tool('image').click();
    await page.locator('dialog .media-choice').first().waitFor();
    await page.check('dialog input[name="media"]');
    await page.fill('dialog input[name="alt"]', 'Lamps along the north pier');
    await page.fill('dialog input[name="caption"]', 'The north pier at dusk');
    await shot('rich-01-image-dialog');
    await page.click('dialog button[value="ok"]');
    await dialogClosed();
    await tool('media').click();
    await page.locator('dialog .media-choice').first().waitFor();
    await page.check('dialog input[name="media"]');
    await page.click('dialog button[value="ok"]');
    await dialogClosed();
    await shot('rich-02-editor-desktop');
    await Promise.all([page.waitForURL(/\/editor\/articles\/\d+\?notice=created/), page.click('button[value="save"]')]);
    articleId = Number(/\/editor\/articles\/(\d+)/.exec(page.url())![1]);
    const body = await storedBody(articleId);
    assert.match(body, /<h2>The vote<\/h2>/);
    assert.match(body, /<strong>seven to two<\/strong>/);
    assert.match(body, /<ul><li><p>North pier<\/p><\/li><li><p>Lighthouse cable<\/p><\/li><\/ul>/);
    assert.match(body, /<a href="https:\/\/example\.org\/minutes" rel="noopener nofollow">Read the minutes<\/a>/);
    assert.match(
      body,
      /<figure><img src="\/media\/[0-9a-f]{64}\.jpg" alt="Lamps along the north pier"[^>]*><figcaption>The north pier at dusk<\/figcaption><\/figure>/,
    );
    assert.match(body, /<audio controls(="")? preload="none" src="\/media\/[0-9a-f]{64}\.wav"><\/audio>/);
    // Loaded again, the editor shows what was saved: the image is a figure node with its alt text.
    await page.locator('.rich-surface figure img[alt="Lamps along the north pier"]').waitFor();
  });

  it('cleans a pasted Word document with the server sanitizer: lists, bold and links kept, Office markup gone', async () => {
    const word = await fsp.readFile(path.join(__dirname, '../../fixtures/word-paste.html'), 'utf8');
    await page.goto(`${appUrl}/editor/articles/new`);
    await page.fill('input[name="title"]', 'Harbour budget');
    await surface().click();
    // A paste event as the browser fires it for a clipboard holding Word's HTML.
    await surface().evaluate((el, html) => {
      type Clip = { setData(type: string, value: string): void };
      const w = globalThis as unknown as {
        DataTransfer: new () => Clip;
        ClipboardEvent: new (
          type: string,
          init: { clipboardData: Clip; bubbles: boolean; cancelable: boolean },
        ) => Event;
      };
      const data = new w.DataTransfer();
      data.setData('text/html', html);
      data.setData('text/plain', 'Council approves harbour budget');
      el.dispatchEvent(new w.ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, word);
    await page.locator('.rich-surface ol li', { hasText: 'Work starts in March' }).waitFor();
    await shot('rich-03-word-paste');
    await Promise.all([page.waitForURL(/notice=created/), page.click('button[value="save"]')]);
    const body = await storedBody(Number(/\/editor\/articles\/(\d+)/.exec(page.url())![1]));
    assert.match(
      body,
      /^<p><strong>Council approves harbour budget<\/strong><\/p><p>The council voted <strong>seven to two<\/strong>/,
    );
    assert.match(body, /<em>harbour lights<\/em>/);
    assert.match(
      body,
      /<ul><li><p>New lamps on the north pier<\/p><\/li><li><p>A new cable to the lighthouse<\/p><\/li><\/ul>/,
    );
    assert.match(body, /<ol><li><p>Tender in January<\/p><\/li><li><p>Work starts in March<\/p><\/li><\/ol>/);
    assert.match(
      body,
      /<p>Read the <a [^>]*href="https:\/\/example\.org\/council\/minutes"[^>]*>minutes<\/a> online\.<\/p>/,
    );
    assert.doesNotMatch(body, /mso-|class=|style=|onclick|o:p|·|StartFragment|<p>\s*<\/p>/);
  });

  it('autosaves a draft revision while typing, publishing nothing', async () => {
    await page.goto(`${appUrl}/editor/articles/${articleId}`);
    await page.locator('.rich-editor[data-ready="true"]').waitFor();
    const before = await storedBody(articleId);
    await surface().locator('h2').click();
    await page.keyboard.press('End');
    await page.keyboard.type(' in full');
    await page.locator('.autosave-status', { hasText: /Draft autosaved/ }).waitFor({ timeout: 15_000 });
    const autosave = await db('revisions')
      .where({ item_id: articleId, action: 'autosave' })
      .orderBy('id', 'desc')
      .first();
    assert.ok(autosave, 'an autosave revision');
    assert.match(JSON.parse(autosave.snapshot).body, /<h2>The vote in full<\/h2>/);
    assert.equal(await storedBody(articleId), before, 'the item itself is unchanged');
    // Typing on replaces the same autosave instead of adding one every few seconds.
    await page.keyboard.type('!');
    await waitFor(
      async () =>
        /in full!/.test(
          String((await db('revisions').where({ item_id: articleId, action: 'autosave' }).first('snapshot')).snapshot),
        ),
      { what: 'the second autosave', timeoutMs: 15_000 },
    );
    assert.equal((await db('revisions').where({ item_id: articleId, action: 'autosave' })).length, 1);
    await shot('rich-04-autosaved');
  });

  it('warns before leaving with unsaved changes', async () => {
    const other = await editor.newPage();
    await other.goto(`${appUrl}/editor/articles/${articleId}`);
    await other.locator('.rich-editor[data-ready="true"]').waitFor();
    await surface(other).click();
    await other.keyboard.type('x');
    const dialog = new Promise<string>((resolve) => other.once('dialog', (d) => resolve(d.type())));
    await other.close({ runBeforeUnload: true });
    assert.equal(await dialog, 'beforeunload');
  });

  it('gives the text back after the session is killed mid-edit and the editor logs in again', async () => {
    await page.goto(`${appUrl}/editor/articles/${articleId}`);
    await page.locator('.rich-editor[data-ready="true"]').waitFor();
    await db('sessions').delete();
    await surface().locator('p', { hasText: 'The council voted' }).click();
    await page.keyboard.press('End');
    await page.keyboard.type(' Written after the session ended.');
    await page.locator('.autosave-status', { hasText: /session has ended/ }).waitFor({ timeout: 15_000 });
    await shot('rich-05-session-ended');
    await Promise.all([page.waitForURL(/\/editor\/login/), page.click('a[data-relogin]')]);
    await logIn(page);
    assert.match(page.url(), new RegExp(`/editor/articles/${articleId}$`));
    const offer = page.locator('.recovery');
    await offer.waitFor();
    await shot('rich-06-recovery-offer');
    await offer.locator('button', { hasText: 'Restore it' }).click();
    await surface().locator('p', { hasText: 'Written after the session ended.' }).waitFor();
    await Promise.all([page.waitForURL(/notice=saved/), page.click('button[value="save"]')]);
    assert.match(await storedBody(articleId), /Written after the session ended\./);
    assert.equal(await page.locator('.recovery').count(), 0, 'once saved, nothing more is offered');
  });

  it('offers the server-side autosave back, without JavaScript too', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false, viewport: PHONE });
    const plain = await noScript.newPage();
    await plain.goto(`${appUrl}/editor/login`);
    await logIn(plain);
    // Revisions are named by their number per item (migration 026): this one comes after the article's last.
    const last = await db('revisions').where({ item_type: 'article', item_id: articleId }).max('number as n').first();
    const revision = Number(last?.n ?? 0) + 1;
    await db('revisions').insert({
      item_type: 'article',
      item_id: articleId,
      number: revision,
      user_id: 1,
      action: 'autosave',
      reason: '',
      snapshot: JSON.stringify({ title: 'Pier lamps return', summary: '', body: '<p>Autosaved words</p>', tags: [] }),
      created_at: Date.now(),
    });
    await plain.goto(`${appUrl}/editor/articles/${articleId}`);
    await plain.click('#autosave-offer a');
    assert.match(plain.url(), new RegExp(`autosave=${revision}`));
    assert.equal(await plain.inputValue('textarea[name="body"]'), '<p>Autosaved words</p>');
    await shot('rich-07-autosave-offer-no-js-phone', plain);
    await noScript.close();
  });

  it('gives the public submission form the reduced editor, and it passes axe', async () => {
    const reader = await browser.newContext({ viewport: PHONE });
    const form = await reader.newPage();
    await form.goto(`${appUrl}/submit`);
    await form.locator('.rich-editor[data-ready="true"]').waitFor();
    assert.deepEqual(
      await form.locator('.rich-toolbar button').evaluateAll((b) => b.map((x) => x.getAttribute('data-tool'))),
      ['bold', 'italic', 'link', 'bulletList', 'orderedList', 'blockquote', 'undo', 'redo'],
    );
    await form.fill('input[name="title"]', 'Bus shelter repaired');
    await surface(form).click();
    await form.keyboard.type('The shelter on Mill Road has a ');
    await tool('bold', form).click();
    await form.keyboard.type('new roof');
    await shot('rich-08-submit-phone', form);
    const { violations } = await new AxeBuilder({ page: form }).withTags(WCAG_A_AA).analyze();
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`),
      [],
    );
    await form.click('button[type="submit"]');
    await form.locator('main', { hasText: /waits for a moderator|published/ }).waitFor();
    const row = await db('articles').where({ title: 'Bus shelter repaired' }).first('body');
    assert.equal(row.body, '<p>The shelter on Mill Road has a <strong>new roof</strong></p>');
    await reader.close();
  });

  it('shows the editor on a phone', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${appUrl}/editor/articles/${articleId}`);
    await page.locator('.rich-editor[data-ready="true"]').waitFor();
    await shot('rich-09-editor-phone');
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).include('.rich-editor').analyze();
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`),
      [],
    );
  });
});
