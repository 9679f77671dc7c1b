// Reader search on a mirror whose origin is gone, in headless Chromium: the
// search script the mirror serves reads the index files of that mirror and
// finds an article by a word only its body holds; every request the reader's
// browser makes goes to that mirror, none to the origin (the link to it is
// cut first). The results and the search page without JavaScript (which
// says what to do instead) pass axe-core's WCAG 2 A/AA rules at desktop and
// phone size, under the mirror's Content-Security-Policy. Screenshots go to
// test-output/browser/search-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import type { RunningMirror } from '../../mirrors/main';
import { waitFor } from '../harness/wait';
import { assertAccessible, SIZES } from '../support/axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';
import { startFarMirror } from '../support/far-mirror';
import type { FaultyLink } from '../support/faulty-link';

/** In the body only: not in the title, summary, section or tags. */
const BODY_WORD = 'Seeschwalbenkolonie';
/** Each wait on the page (a click, a text to appear, a navigation): minutes would mean something is wrong. */
const PAGE_WAIT_MS = 15_000;

describe('reader search on a mirror cut off from its origin', { timeout: 420_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let link: FaultyLink;
  let mirror: RunningMirror;
  let chromium: LaunchedChromium;
  let article: { url: string; title: string };
  /** Every URL the reader's browser asked for, and every CSP complaint it logged. */
  const requests: string[] = [];
  const cspViolations: string[] = [];

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('search-browser', {
      MIRROR_STATUS_INTERVAL_MS: '0',
      // UTC+14: the article's date (noon UTC) is the next day on this site, whatever the browser's zone.
      SITE_TIME_ZONE: 'Pacific/Kiritimati',
    }));
    site = await startEmbedded(config);
    ({ link, mirror } = await startFarMirror(site, config, dataDir));
    const title = 'Terns return to the breakwater';
    const res = await fetch(`${site.appUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify({
        title,
        summary: 'Wardens count more nests than last spring.',
        body: `<p>The ${BODY_WORD} on the old pier has grown again.</p>`,
        section: 'news',
        status: 'published',
        publishedAt: '2026-03-01T12:00:00Z',
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    article = { url: ((await res.json()) as { url: string }).url, title };
    await waitFor(async () => (await fetch(`${mirror.url}${article.url}`)).status === 200, {
      what: 'the article reaches the far mirror',
      timeoutMs: 120_000,
    });
    // The origin is gone: the mirror keeps serving what it holds.
    link.cut('reset');
    chromium = await launchChromium(SIZES.desktop);
  });

  after(async () => {
    await chromium?.close();
    await mirror?.close();
    await link?.close();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  async function newPage(javaScriptEnabled: boolean): Promise<Page> {
    const context = await chromium.browser.newContext({ javaScriptEnabled, viewport: SIZES.desktop });
    const page = await context.newPage();
    // Playwright's own messages name what it waited for ("waiting for getByText(…)").
    page.setDefaultTimeout(PAGE_WAIT_MS);
    page.setDefaultNavigationTimeout(PAGE_WAIT_MS);
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
    });
    return page;
  }

  it('finds an article by a word only in its body, asking nothing of the origin', async () => {
    const page = await newPage(true);
    await page.goto(`${mirror.url}/`);
    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Search' }).click();
    await page.getByLabel('Words to look for').fill(BODY_WORD.toLowerCase());
    await page.getByRole('button', { name: 'Search' }).click();
    const result = page.getByRole('list').getByRole('link', { name: article.title });
    await result.waitFor({ timeout: PAGE_WAIT_MS });
    assert.match((await page.getByRole('status').textContent()) ?? '', /^1 result for/);
    assert.ok(await page.getByText('Wardens count more nests than last spring.').isVisible(), 'the summary is shown');
    const date = page.locator('#search-results time[datetime]');
    assert.ok(await date.isVisible(), 'the date is shown');
    assert.equal(await date.textContent(), '2 March 2026', 'the date is the site’s (UTC+14), not the browser’s');
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await assertAccessible(page, `search results at ${size} size`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `search-results-${size}.png`), fullPage: true });
    }
    await result.click();
    await page.waitForURL(`${mirror.url}${article.url}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), article.title);

    const elsewhere = requests.filter((u) => !u.startsWith(`${mirror.url}/`));
    assert.deepEqual(elsewhere, [], 'every request went to the mirror that served the page');
    assert.ok(
      requests.some((u) => u.includes('/search/index.json')),
      'the index was read from the mirror',
    );
    assert.ok(
      requests.some((u) => /\/assets\/search\/terms-\d+-[0-9a-f]+\.json$/.test(u)),
      'a term shard was read',
    );
    assert.ok(link.isCut, 'the origin stayed unreachable throughout');
    assert.deepEqual(cspViolations, [], 'the search script runs under the mirror’s policy');
  });

  it('says no results plainly, and without JavaScript says how else to find a story', async () => {
    const page = await newPage(true);
    await page.goto(`${mirror.url}/search?q=${encodeURIComponent('nosuchwordanywhere')}`);
    await page.getByRole('status').getByText('No results for “nosuchwordanywhere”.').waitFor({ timeout: PAGE_WAIT_MS });
    assert.equal(await page.locator('#search-results li').count(), 0, 'no result is listed');

    const plain = await newPage(false);
    const res = await plain.goto(`${mirror.url}/search?q=${BODY_WORD}`);
    assert.equal(res?.status(), 200);
    assert.ok(await plain.getByText(/Search runs in your browser and needs JavaScript/).isVisible());
    assert.equal(await plain.locator('#search-status').textContent(), '', 'the search script did not run');
    for (const name of ['the latest articles', 'the sections', 'the tags', 'the events calendar'])
      assert.ok(await plain.getByRole('link', { name }).isVisible(), `links ${name}`);
    for (const [size, viewport] of Object.entries(SIZES)) {
      await plain.setViewportSize(viewport);
      await assertAccessible(plain, `search page without JavaScript at ${size} size`, { javaScript: false });
      await plain.screenshot({ path: path.join(SCREENSHOTS, `search-nojs-${size}.png`), fullPage: true });
    }
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(`${mirror.url}/`)),
      [],
      'every request went to the mirror',
    );
  });
});
