// Scheduling from the editor in a real browser, on a site whose time zone is
// not UTC (Asia/Kolkata, UTC+05:30, no daylight saving, so the expected
// instants are written here by hand): the form takes wall times in that
// zone, the dashboard lists the schedule and reschedules it, nothing is
// public before the time, and the story is served through the cache proxy
// once the (fake) clock passes it. The whole stack runs embedded (timer
// alarm). Screenshots go to test-output/browser/.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Config } from '../../common/config';
import { startEmbedded, Embedded } from '../../bin/embedded';
import { createDatabase, Database } from '../../common/db/database';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { embeddedTestConfig } from '../support/embedded-config';
import { fakeClock } from '../support/fake-clock';

const ADMIN_PASSWORD = 'schedule-browser-password';
const ZONE = 'Asia/Kolkata';
const DAY = 24 * 3600_000;

describe('scheduling from the editor in the site time zone', () => {
  const clock = fakeClock();
  let site: Embedded;
  let chromium: LaunchedChromium;
  let page: Page;
  let dataDir: string;
  let db: Database;
  // Tomorrow's date in Kolkata.
  const day = new Date(Date.now() + DAY + 5.5 * 3600_000).toISOString().slice(0, 10);

  before(async () => {
    let config: Config;
    ({ dataDir, config } = await embeddedTestConfig('schedule-browser', {
      RELAY_INTERVAL_MS: '200',
      SCHEDULE_RECHECK_MS: '200',
      SITE_TIME_ZONE: ZONE,
    }));
    process.env.HYPERSTATIC_ADMIN_PASSWORD = ADMIN_PASSWORD;
    site = await startEmbedded(config, { now: clock.now });
    db = createDatabase(config.databaseUrl);
    chromium = await launchChromium({ width: 1280, height: 900 });
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    await page.goto(`${site.appUrl}/editor`);
    await page.fill('input[name="name"]', 'admin');
    await page.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(`${site.appUrl}/editor`), page.click('button[type="submit"]')]);
  });

  after(async () => {
    await chromium?.close();
    await db?.destroy();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const publicHtml = async (p: string) => (await fetch(`${site.publicUrl}${p}`)).text();

  it('schedules a draft for 09:30 Kolkata time, lists it on the dashboard and reschedules it to 10:15', async () => {
    await page.goto(`${site.appUrl}/editor/articles/new`);
    assert.match((await page.textContent('#schedule legend')) ?? '', /Asia\/Kolkata, GMT\+05:30/);
    await page.fill('input[name="title"]', 'Monsoon budget unveiled');
    // The body as HTML: the rich editor's HTML button shows the textarea itself.
    await page.click('.rich-toolbar button[data-tool="source"]');
    await page.fill('textarea[name="body"]', '<p>Embargoed until the minister speaks.</p>');
    await page.fill('input[name="publishAt"]', `${day}T09:30`);
    await shot('schedule-01-form');
    await Promise.all([page.waitForURL(/\/editor\/articles\/\d+/), page.click('button[value="save"]')]);
    const row = await db('articles').where({ title: 'Monsoon budget unveiled' }).first();
    assert.equal(Number(row.publish_at), Date.parse(`${day}T09:30:00+05:30`), 'the wall time is read in the site zone');
    assert.equal(row.status, 'draft');
    assert.equal(await page.inputValue('input[name="publishAt"]'), `${day}T09:30`, 'and shown back in it');
    assert.match(
      (await page.textContent('.heading-row')) ?? '',
      new RegExp(`publishes ${day} 09:30 \\(Asia/Kolkata\\)`),
    );
    await shot('schedule-02-saved');

    await page.goto(`${site.appUrl}/editor`);
    const listed = page.locator('#scheduled tbody tr', { hasText: 'Monsoon budget unveiled' });
    assert.match((await listed.textContent()) ?? '', new RegExp(`${day} 09:30 \\(Asia/Kolkata\\)`));
    await listed.locator('input[name="at"]').fill(`${day}T10:15`);
    await Promise.all([page.waitForURL(/notice=rescheduled/), listed.locator('button[value="reschedule"]').click()]);
    const moved = await db('articles').where({ id: row.id }).first();
    assert.equal(Number(moved.publish_at), Date.parse(`${day}T10:15:00+05:30`));
    assert.match((await page.locator('#scheduled').textContent()) ?? '', new RegExp(`${day} 10:15`));
    assert.match((await page.textContent('body')) ?? '', /rescheduled/, 'the notice says so');
    await shot('schedule-03-dashboard');
  });

  it('cancels a take-down from the dashboard in one click', async () => {
    const row = await db('articles').where({ status: 'published' }).first();
    await page.goto(`${site.appUrl}/editor/articles/${row.id}`);
    await page.fill('input[name="unpublishAt"]', `${day}T18:00`);
    await Promise.all([page.waitForURL(/notice=saved/), page.click('button[value="save"]')]);
    assert.equal(
      Number((await db('articles').where({ id: row.id }).first()).unpublish_at),
      Date.parse(`${day}T18:00:00+05:30`),
    );
    await page.goto(`${site.appUrl}/editor`);
    const listed = page.locator('#scheduled tbody tr', { hasText: 'take down' });
    await Promise.all([page.waitForURL(/notice=schedule/), listed.locator('button[value="cancel"]').click()]);
    assert.equal((await db('articles').where({ id: row.id }).first()).unpublish_at, null);
    assert.equal(await page.locator('#scheduled tbody tr', { hasText: 'take down' }).count(), 0);
  });

  it("reads an event's start in the site zone too", async () => {
    await page.goto(`${site.appUrl}/editor/events/new`);
    await page.fill('input[name="title"]', 'Budget town hall');
    await page.fill('input[name="startsAt"]', `${day}T18:30`);
    await Promise.all([page.waitForURL(/\/editor\/events\/\d+/), page.click('button[value="save"]')]);
    const row = await db('events').where({ title: 'Budget town hall' }).first();
    assert.equal(Number(row.starts_at), Date.parse(`${day}T18:30:00+05:30`));
    assert.equal(await page.inputValue('input[name="startsAt"]'), `${day}T18:30`);
  });

  it('refuses a time in the past with the field marked, and changes nothing', async () => {
    const row = await db('articles').where({ title: 'Monsoon budget unveiled' }).first();
    await page.goto(`${site.appUrl}/editor/articles/${row.id}`);
    await page.fill('input[name="publishAt"]', '2020-01-01T09:30');
    await page.click('button[value="save"]');
    assert.match((await page.textContent('body')) ?? '', /publishAt .* is not in the future/);
    assert.equal(await page.locator('label.invalid input[name="publishAt"]').count(), 1);
    assert.equal(Number((await db('articles').where({ id: row.id }).first()).publish_at), Number(row.publish_at));
    await shot('schedule-04-refused');
  });

  it('is on no public page before its time and on the home page and its own page after', async () => {
    const row = await db('articles').where({ title: 'Monsoon budget unveiled' }).first();
    const url = `/news/${row.slug}`;
    assert.equal((await fetch(`${site.publicUrl}${url}`)).status, 404);
    assert.ok(!(await publicHtml('/')).includes('Monsoon budget'));
    clock.advance(Number(row.publish_at) - clock.now() + 1000);
    await waitFor(async () => (await fetch(`${site.publicUrl}${url}`)).status === 200, {
      what: 'the article served through the proxy',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await publicHtml('/')).includes('Monsoon budget unveiled'), {
      what: 'the home page through the proxy lists it',
      timeoutMs: 20_000,
    });
    await page.goto(`${site.publicUrl}${url}`);
    await shot('schedule-05-public');
    await page.goto(`${site.appUrl}/editor`);
    assert.match((await page.locator('#scheduled').textContent()) ?? '', /Nothing is scheduled/);
  });
});
