// The public site as readers get it, in headless Chromium: the home page, an
// article, a section archive and a removed article's 410 page pass an
// accessibility check (axe-core, WCAG 2.0/2.1 A and AA rules) through the
// cache proxy. Then a mirror loses its origin: once its last heartbeat
// expires, every page it serves through the proxy opens with a line saying
// since when the copy is frozen (docs/trust.md, "Signed freshness"), which
// must be accessible too; when the link heals, the line goes.
//
// Topology: the embedded site (app, producer, its own mirror and proxy), a
// far mirror reaching the app through a faulty link, and a cache proxy in
// front of that far mirror, following its feed. Screenshots go to
// test-output/browser/public-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { startProxy, type RunningProxy } from '../../cache-proxy/main';
import { loadConfig, type Config } from '../../common/config';
import { createLogger } from '../../common/logger';
import type { RunningMirror } from '../../mirrors/main';
import { waitFor } from '../harness/wait';
import { assertAccessible } from '../support/axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';
import { startFarMirror } from '../support/far-mirror';
import type { FaultyLink } from '../support/faulty-link';

// Short enough that a cut freezes the far mirror within seconds (docs/trust.md).
const HEARTBEAT_MS = 200;
const HEARTBEAT_VALID_MS = 1500;
const PHONE = { width: 390, height: 844 };

/** Chromium reports each Content-Security-Policy violation on the console ("Refused to …"); collects them. */
function watchCsp(target: Page, into: string[]): void {
  target.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) into.push(`${target.url()}: ${message.text()}`);
  });
}

/** A computed style property of the element (the tests compile without the DOM library). */
function computedStyle(target: Locator, property: string): Promise<string> {
  return target.evaluate(
    (el, name) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }).getComputedStyle(el)[name],
    property,
  );
}

async function freshnessOf(url: string): Promise<{ header: string | null; banner: boolean }> {
  const res = await fetch(url);
  const body = await res.text();
  return { header: res.headers.get('hyperstatic-freshness'), banner: body.includes('class="hs-frozen"') };
}

describe('public pages in a real browser: accessible, and honest about a frozen copy', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let link: FaultyLink;
  let mirror: RunningMirror;
  let proxy: RunningProxy;
  let chromium: LaunchedChromium;
  let page: Page;
  let articleUrl: string;
  let goneUrl: string;
  /** Every CSP violation any page reported (must stay empty). */
  const cspViolations: string[] = [];

  const shot = (name: string, target: Page = page) =>
    target.screenshot({ path: path.join(SCREENSHOTS, `public-${name}.png`), fullPage: true });

  async function publish(title: string, body: string): Promise<{ id: number; url: string }> {
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify({
        title,
        body,
        summary: `${title}.`,
        section: 'news',
        tags: ['Coast'],
        status: 'published',
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { id: number; url: string };
  }

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('public-pages', {
      MIRROR_STATUS_INTERVAL_MS: '0',
      FEED_HEARTBEAT_MS: String(HEARTBEAT_MS),
      FEED_HEARTBEAT_VALID_MS: String(HEARTBEAT_VALID_MS),
    }));
    site = await startEmbedded(config);
    // Retries back off up to 60 × MIRROR_RECONNECT_MS (common/feed-client.ts): 3 s, so healing shows within seconds.
    ({ link, mirror } = await startFarMirror(site, config, dataDir, { MIRROR_RECONNECT_MS: '50' }));
    proxy = await startProxy(
      loadConfig({ LOG_LEVEL: 'silent', PROXY_PORT: '0', PROXY_UPSTREAMS: mirror.url, PROXY_ACCESS_LOG: 'false' }),
      { logger: createLogger('silent', 'far-proxy') },
    );
    chromium = await launchChromium({ width: 1024, height: 800 });
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    watchCsp(page, cspViolations);

    articleUrl = (
      await publish(
        'Lighthouse keepers hand over the keys',
        '<p>After forty years the last keepers leave the point.</p><h2>What happens next</h2><p>The light runs itself now.</p>',
      )
    ).url;
    const gone = await publish('A story that is taken down', '<p>This will not stay.</p>');
    goneUrl = gone.url;
    await waitFor(async () => (await fetch(`${proxy.url}${goneUrl}`)).status === 200, {
      what: 'the new articles reach the far mirror and its proxy',
      timeoutMs: 30_000,
    });
    const hidden = await fetch(`${site.appUrl}/api/moderation/articles/${gone.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify({ action: 'hide', reason: 'Legal request' }),
    });
    assert.equal(hidden.status, 200, await hidden.clone().text());
    await waitFor(async () => (await fetch(`${proxy.url}${goneUrl}`)).status === 410, {
      what: 'the hidden article answers 410 through the proxy',
      timeoutMs: 30_000,
    });
  });

  after(async () => {
    await chromium?.close();
    await proxy?.close();
    await mirror?.close();
    await link?.close();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('serves the home page, an article, a section archive and a 410 page that pass WCAG 2 A/AA checks', async () => {
    const home = await page.goto(`${proxy.url}/`);
    assert.equal(home?.status(), 200);
    assert.equal(home?.headers()['hyperstatic-freshness'], undefined, 'a fresh copy carries no freshness notice');
    // The mirror's security headers reach the reader through the proxy (mirrors/security-headers.ts).
    assert.match(home?.headers()['content-security-policy'] ?? '', /default-src 'self'.*frame-ancestors 'none'/);
    assert.equal(home?.headers()['referrer-policy'], 'strict-origin-when-cross-origin');
    // The stylesheet applied under the policy: the page is styled, not the browser's default serif.
    assert.doesNotMatch(await computedStyle(page.locator('body'), 'fontFamily'), /^"?Times/);
    await assertAccessible(page, 'the home page');
    await shot('01-home');

    const article = await page.goto(`${proxy.url}${articleUrl}`);
    assert.equal(article?.status(), 200);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Lighthouse keepers hand over the keys');
    assert.equal(await page.getByRole('status').count(), 0, 'no banner while the copy is fresh');
    await assertAccessible(page, 'an article page');
    await shot('02-article');

    const sectionUrl = await page.locator('article .meta a', { hasText: 'News' }).getAttribute('href');
    assert.ok(sectionUrl, 'the article links to its section');
    const section = await page.goto(`${proxy.url}${sectionUrl}`);
    assert.equal(section?.status(), 200);
    assert.match((await page.textContent('main')) ?? '', /Lighthouse keepers hand over the keys/);
    await assertAccessible(page, 'a section archive page');
    await shot('03-section');

    const gone = await page.goto(`${proxy.url}${goneUrl}`);
    assert.equal(gone?.status(), 410);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'This page has been removed');
    await assertAccessible(page, 'the 410 page of a hidden article');
    await shot('04-gone');
    assert.deepEqual(cspViolations, [], 'no page breaks its Content-Security-Policy');
  });

  it('tells readers, at the top of the page, since when a copy cut off from the newsroom is frozen', async () => {
    link.cut('reset');
    const frozen = await waitFor(
      async () => {
        const seen = await freshnessOf(`${proxy.url}${articleUrl}`);
        return seen.header && seen.banner ? seen : undefined;
      },
      { what: 'the far mirror to freeze and the proxy to serve its notice', timeoutMs: HEARTBEAT_VALID_MS + 10_000 },
    );
    const since = /^frozen; since="([^"]+)"$/.exec(frozen.header!)?.[1];
    assert.ok(since && !Number.isNaN(Date.parse(since)), `the header names an HTTP date: ${frozen.header}`);
    // The banner shows the same instant, to the minute, in UTC.
    const sinceText = `${new Date(since).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

    const res = await page.goto(`${proxy.url}${articleUrl}`);
    assert.equal(res?.status(), 200, 'the frozen copy is still served');
    assert.equal(res?.headers()['hyperstatic-freshness'], frozen.header);
    const banner = page.getByRole('status');
    assert.equal(await banner.count(), 1);
    assert.ok(await banner.isVisible());
    assert.match((await banner.textContent()) ?? '', new RegExp(`since ${sinceText}\\b`));
    assert.equal(
      await banner.locator('time').getAttribute('datetime'),
      `${new Date(since).toISOString().slice(0, 19)}Z`,
      'the banner names the same instant as the header, machine-readably',
    );
    const box = await banner.boundingBox();
    assert.ok(box && box.y === 0 && box.x === 0, `the banner is at the very top: ${JSON.stringify(box)}`);
    assert.equal(
      await page.locator('body > :first-child').getAttribute('class'),
      'hs-frozen',
      'the banner comes first in the body, before the skip link',
    );
    // Styled by its <style> element, which the policy allows by hash: no violation, and the colours apply.
    assert.equal(await computedStyle(banner, 'backgroundColor'), 'rgb(255, 244, 204)');
    await assertAccessible(page, 'a frozen article page');
    await shot('05-article-frozen');

    const phone = await chromium.browser.newContext({ viewport: PHONE });
    try {
      const small = await phone.newPage();
      watchCsp(small, cspViolations);
      await small.goto(`${proxy.url}${articleUrl}`);
      const phoneBanner = small.getByRole('status');
      assert.ok(await phoneBanner.isVisible());
      const width = (await phoneBanner.boundingBox())?.width;
      assert.equal(width, PHONE.width, 'the banner spans the phone screen without overflowing it');
      assert.equal(
        await small.locator('html').evaluate((html) => (html as unknown as { scrollWidth: number }).scrollWidth),
        PHONE.width,
        'nothing scrolls sideways',
      );
      await assertAccessible(small, 'a frozen article page on a phone');
      await shot('06-article-frozen-phone', small);
    } finally {
      await phone.close();
    }
    assert.deepEqual(cspViolations, [], 'the frozen banner breaks no Content-Security-Policy');
  });

  it('drops the notice within seconds once the link heals (the proxy evicts on recovery)', async () => {
    link.resume();
    const healedAt = Date.now();
    await waitFor(
      async () => {
        const seen = await freshnessOf(`${proxy.url}${articleUrl}`);
        return seen.header === null && !seen.banner;
      },
      { what: 'the notice to leave the page through the proxy', timeoutMs: 8000 },
    );
    console.log(`# the notice left the page through the proxy ${Date.now() - healedAt} ms after the link healed`);
    // A reader who saw the frozen page may keep it for its 10 s max-age (mirrors/page-route.ts); a new
    // reader gets the fresh page at once.
    const reader = await chromium.browser.newContext({ viewport: { width: 1024, height: 800 } });
    try {
      const fresh = await reader.newPage();
      const res = await fresh.goto(`${proxy.url}${articleUrl}`);
      assert.equal(res?.status(), 200);
      assert.equal(res?.headers()['hyperstatic-freshness'], undefined);
      assert.equal(await fresh.getByRole('status').count(), 0);
      await shot('07-article-recovered', fresh);
    } finally {
      await reader.close();
    }
  });
});
