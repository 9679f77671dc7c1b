// A live page in headless Chromium, read from a far mirror: after the page
// has loaded, the far mirror's link to the origin is cut (it keeps
// following the change feed from its peer, the embedded site's mirror),
// then three entries are added through the API; each appears on the open
// page without a reload, polled from the mirror that served the page
// (producer/templates/live.js). The browser's request log shows it never
// asked anything but that mirror. The page passes axe (WCAG 2 A/AA) and
// reports no CSP violation. Screenshots: test-output/browser/live-*.png.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import type { Config } from '../../common/config';
import type { RunningMirror } from '../../mirrors/main';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';
import { startFarMirror } from '../support/far-mirror';
import type { FaultyLink } from '../support/faulty-link';

const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PHONE = { width: 390, height: 844 };

describe('a live page open on a mirror shows new entries without a reload', { timeout: 180_000 }, () => {
  let dataDir: string;
  let site: Embedded;
  let link: FaultyLink;
  let mirror: RunningMirror;
  let chromium: LaunchedChromium;
  let page: Page;
  let article: { id: number; url: string };
  /** Every URL the reader's browser asked for. */
  const requests: string[] = [];
  const cspViolations: string[] = [];

  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${site.appUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
      body: JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as { id: number; url: string };
  };

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('live-page', { MIRROR_STATUS_INTERVAL_MS: '0' }));
    site = await startEmbedded(config);
    // The far mirror follows the origin through `link`, and the embedded site's mirror as its peer.
    ({ link, mirror } = await startFarMirror(site, config, dataDir, {
      MIRROR_PEERS: site.mirrorUrl,
      MIRROR_RECONNECT_MS: '50',
    }));
    chromium = await launchChromium({ width: 1024, height: 800 });
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
    article = await call('POST', '/api/articles', {
      title: 'Storm Ingrid makes landfall',
      summary: 'Live updates from the coast.',
      body: '<p>The storm reaches the coast tonight. Follow the latest here.</p>',
      section: 'news',
      status: 'published',
      live: true,
    });
    await call('POST', `/api/articles/${article.id}/entries`, {
      body: '<p>Harbour closed to all shipping from 18:00.</p>',
    });
    await waitFor(async () => (await (await fetch(`${mirror.url}${article.url}`)).text()).includes('Harbour closed'), {
      what: 'the live page with its first entry reaches the far mirror',
      timeoutMs: 30_000,
    });
  });

  after(async () => {
    await chromium?.close();
    await mirror?.close();
    await link?.close();
    await site?.close();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('adds three entries to the open page, from the mirror, with the origin cut off', async () => {
    const res = await page.goto(`${mirror.url}${article.url}`);
    assert.equal(res?.status(), 200);
    await page.locator('.live-entry').first().waitFor();
    // A reload would clear this; the entries must arrive into the same document.
    await page.evaluate(() => Object.assign(globalThis, { loadedOnce: true }));
    link.cut('reset');

    const texts = ['Waves over the sea wall at Northpoint.', 'Power cut in 4,000 homes.', 'Evacuation centre opens.'];
    for (const text of texts) {
      const entry = await call('POST', `/api/articles/${article.id}/entries`, { body: `<p>${text}</p>` });
      await page.locator(`#entry-${entry.id}`).waitFor({ timeout: 30_000 });
      assert.equal(
        await page.locator('.live-entries .live-entry').first().getAttribute('id'),
        `entry-${entry.id}`,
        'the newest entry is at the top',
      );
    }
    assert.ok(link.isCut, 'the far mirror had no link to the origin the whole time');
    assert.equal(await page.evaluate(() => (globalThis as { loadedOnce?: boolean }).loadedOnce), true, 'no reload');
    assert.equal(await page.locator('.live-entries .live-entry').count(), 4);
    assert.equal(await page.locator('[aria-live="polite"] .live-entry').count(), 4, 'inside the polite live region');

    const mirrorOrigin = new URL(mirror.url).origin;
    const elsewhere = requests.filter((u) => new URL(u).origin !== mirrorOrigin);
    assert.deepEqual(elsewhere, [], 'the reader only ever talked to the mirror');
    assert.ok(
      requests.filter((u) => u.endsWith(`${article.url}/live.json`)).length >= 3,
      'the page polled the JSON of its newest entries',
    );
    assert.deepEqual(cspViolations, [], 'the script runs under the mirror CSP');
  });

  it('passes WCAG 2 A/AA checks, on a desktop and a phone screen', async () => {
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'live-desktop.png'), fullPage: true });
    const phone = await chromium.browser.newContext({ viewport: PHONE });
    try {
      const small = await phone.newPage();
      await small.goto(`${mirror.url}${article.url}`);
      await small.locator('.live-entry').first().waitFor();
      const { violations: onPhone } = await new AxeBuilder({ page: small }).withTags(WCAG_A_AA).analyze();
      assert.deepEqual(
        onPhone.map((v) => v.id),
        [],
      );
      const width = await small.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
            .scrollWidth,
      );
      assert.equal(width, PHONE.width, 'nothing overflows the phone screen');
      await small.screenshot({ path: path.join(SCREENSHOTS, 'live-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
