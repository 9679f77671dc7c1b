// axe-core's WCAG 2.0/2.1 A and AA rules run in the page, for the browser tests of public pages.
import assert from 'node:assert/strict';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';

const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Runs axe on the page and fails listing every violation with its nodes, so the message alone says what to fix. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
  const report = violations
    .map(
      (v) =>
        `- ${v.id} (${v.impact ?? 'unknown impact'}): ${v.help}\n  ${v.helpUrl}\n` +
        v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.replace(/\n/g, ' ') ?? ''}`).join('\n'),
    )
    .join('\n');
  assert.equal(violations.length, 0, `${what} (${page.url()}) has accessibility violations:\n${report}`);
}

/** The sizes every public page is checked at. */
export const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

/** Opens `url` at each size: the status, axe with no violations, a full-page screenshot `${shot}-${size}.png` each. */
export async function checkAtSizes(page: Page, url: string, shot: string, status = 200): Promise<void> {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    const res = await page.goto(url);
    assert.equal(res?.status(), status, `${url} at ${size}`);
    await assertAccessible(page, `${path.basename(shot)} at ${size} size`);
    await page.screenshot({ path: `${shot}-${size}.png`, fullPage: true });
  }
}
