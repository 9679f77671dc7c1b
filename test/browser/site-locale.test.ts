// The public site in another language and time zone, in headless Chromium:
// a site configured SITE_LANGUAGE=fr-CA, SITE_TIME_ZONE=America/Toronto,
// with SITE_DESCRIPTION and SITE_LOGO, shows its strings in French, event
// times in Toronto's wall time with its abbreviation (HNE in winter, HAE in
// summer) and the offset in <time datetime>, its tagline and logo; and a
// site in Arabic (SITE_LANGUAGE=ar) is laid out right to left without
// scrolling sideways on a phone. Both pass axe-core's WCAG 2 A/AA rules.
// Screenshots go to test-output/browser/locale-*.png (git-ignored).
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { waitFor } from '../harness/wait';
import { checkAtSizes, SIZES } from '../support/axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';

const PHONE = SIZES.phone;
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><circle cx="20" cy="20" r="18" fill="#b3261e"/></svg>\n';

async function startSite(name: string, extra: Record<string, string>): Promise<{ dataDir: string; site: Embedded }> {
  const { dataDir, config } = await embeddedTestConfig(name, { MIRROR_STATUS_INTERVAL_MS: '0', ...extra });
  const site = await startEmbedded(config);
  await waitFor(async () => (await fetch(`${site.mirrorUrl}/tags`)).status === 200, {
    what: 'the sample site rendered and mirrored',
    timeoutMs: 60_000,
  });
  return { dataDir, site };
}

async function publishEvent(site: Embedded, title: string, startsAt: string): Promise<string> {
  const res = await fetch(`${site.appUrl}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
    body: JSON.stringify({ title, body: `<p>${title}.</p>`, startsAt, location: 'Toronto', status: 'published' }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { url } = (await res.json()) as { url: string };
  await waitFor(async () => (await fetch(`${site.publicUrl}${url}`)).status === 200, {
    what: `${title} reaches the proxy`,
    timeoutMs: 30_000,
  });
  return url;
}

/** Opens `target` at desktop and phone size: axe, a screenshot each (test-output/browser/locale-*). */
function check(page: Page, base: string, name: string, target: string, status = 200): Promise<void> {
  return checkAtSizes(page, `${base}${target}`, path.join(SCREENSHOTS, `locale-${name}`), status);
}

describe('the public site in another language and time zone', { timeout: 600_000 }, () => {
  let chromium: LaunchedChromium;
  let page: Page;
  let logoDir: string;
  const started: { dataDir: string; site: Embedded }[] = [];

  before(async () => {
    chromium = await launchChromium(SIZES.desktop);
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    logoDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hs-logo-'));
  });

  after(async () => {
    await chromium?.close();
    for (const { site, dataDir } of started) {
      await site.close();
      await fsp.rm(dataDir, { recursive: true, force: true });
    }
    if (logoDir) await fsp.rm(logoDir, { recursive: true, force: true });
  });

  it('shows French strings, Toronto wall times with their zone, the tagline and the logo (fr-CA)', async () => {
    const logo = path.join(logoDir, 'logo.svg');
    await fsp.writeFile(logo, LOGO_SVG);
    const running = await startSite('locale-fr', {
      SITE_LANGUAGE: 'fr-CA',
      SITE_TIME_ZONE: 'America/Toronto',
      SITE_DESCRIPTION: 'Les nouvelles du quartier, chaque jour.',
      SITE_LOGO: logo,
    });
    started.push(running);
    const { site } = running;
    // 23:30 UTC on 15 January is 18:30 in Toronto (UTC−5); 16:00 UTC on 1 July is noon there (UTC−4).
    const winter = await publishEvent(site, 'Marché d’hiver', '2027-01-15T23:30:00Z');
    const summer = await publishEvent(site, 'Fête du Canada', '2027-07-01T16:00:00Z');

    await check(page, site.publicUrl, 'fr-event-winter', winter);
    assert.equal(await page.getAttribute('html', 'lang'), 'fr-CA');
    assert.equal(await page.getAttribute('html', 'dir'), 'ltr');
    const when = page.locator('dl.meta time').first();
    assert.equal(await when.getAttribute('datetime'), '2027-01-15T18:30:00-05:00');
    assert.equal(await when.textContent(), 'ven. 15 janvier 2027 à 18 h 30 HNE');
    assert.equal(await page.locator('dl.meta dt').first().textContent(), 'Quand');
    // The page's JSON-LD keeps the machine format: the instant in UTC.
    const jsonLd = JSON.parse((await page.locator('script[type="application/ld+json"]').textContent()) ?? '{}');
    assert.equal(jsonLd.startDate, '2027-01-15T23:30:00.000Z');

    await page.goto(`${site.publicUrl}${summer}`);
    assert.equal(await when.getAttribute('datetime'), '2027-07-01T12:00:00-04:00');
    assert.equal(await when.textContent(), 'jeu. 1 juillet 2027 à 12 h 00 HAE');
    assert.ok(await page.getByRole('link', { name: 'Autres événements en juillet 2027' }).isVisible());

    await check(page, site.publicUrl, 'fr-home', '/');
    assert.equal(await page.locator('.tagline').textContent(), 'Les nouvelles du quartier, chaque jour.');
    assert.equal(
      await page.getAttribute('meta[name="description"]', 'content'),
      'Les nouvelles du quartier, chaque jour.',
    );
    const nav = page.getByRole('navigation', { name: 'Site' });
    for (const name of ['Actualités', 'Événements', 'Proposer un article'])
      assert.ok(await nav.getByRole('link', { name, exact: true }).isVisible(), `the header links ${name}`);
    const img = page.locator('header.site .brand img');
    assert.match((await img.getAttribute('src')) ?? '', /^\/assets\/logo-[0-9a-f]{16}\.svg$/);
    assert.ok(
      Number(await img.evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)) > 0,
      'the logo loads under the mirror’s Content-Security-Policy',
    );
    // The site's name stays the link's text: the logo is decoration beside it.
    assert.match((await page.locator('header.site .brand').textContent()) ?? '', /Hyperstatic News/);

    await check(page, site.publicUrl, 'fr-404', '/pas/de/page', 404);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Page introuvable');
    await check(page, site.publicUrl, 'fr-events', '/events');
    assert.match((await page.textContent('main')) ?? '', /Marché d’hiver/);
  });

  it('lays an Arabic site out right to left, with nothing scrolling sideways on a phone (ar)', async () => {
    const running = await startSite('locale-ar', { SITE_LANGUAGE: 'ar', SITE_TIME_ZONE: 'Asia/Beirut' });
    started.push(running);
    const { site } = running;
    await check(page, site.publicUrl, 'ar-home', '/');
    assert.equal(await page.getAttribute('html', 'lang'), 'ar');
    assert.equal(await page.getAttribute('html', 'dir'), 'rtl');
    assert.ok(await page.getByRole('navigation', { name: 'الموقع' }).getByRole('link', { name: 'الأحدث' }).isVisible());
    // Right to left: the site's name starts at the right edge of the phone screen.
    const brand = await page.locator('header.site .brand').boundingBox();
    assert.ok(
      brand && brand.x + brand.width > PHONE.width - 40,
      `the name sits at the right: ${JSON.stringify(brand)}`,
    );
    assert.equal(
      await page.locator('html').evaluate((html) => (html as unknown as { scrollWidth: number }).scrollWidth),
      PHONE.width,
      'nothing scrolls sideways',
    );
    const article = '/news/river-district-residents-organise-flood-watch';
    await waitFor(async () => (await fetch(`${site.publicUrl}${article}`)).status === 200, {
      what: 'the sample article through the proxy',
      timeoutMs: 30_000,
    });
    await check(page, site.publicUrl, 'ar-article', article);
    // A Latin name keeps its own direction inside the Arabic byline.
    assert.equal(await page.locator('article .meta bdi').textContent(), 'admin');
    assert.match((await page.locator('article .meta').textContent()) ?? '', /بقلم admin/);
    await check(page, site.publicUrl, 'ar-404', '/no/such/page', 404);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'الصفحة غير موجودة');
  });
});
