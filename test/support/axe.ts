// axe-core's WCAG 2.0/2.1 A and AA rules run in the page, for the browser tests of public pages.
import assert from 'node:assert/strict';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import axe from 'axe-core';
import type { Page } from 'playwright-core';

const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
/** A page of ours takes well under a second; a slow, loaded machine a few. */
const AXE_TIMEOUT_MS = 60_000;

/**
 * In a page whose context has JavaScript off, Chromium fires no timers, not even for a script the
 * test injects, and axe-core settles every rule with setTimeout(…, 0): analyze() would never
 * return. Ahead of axe, the page gets a setTimeout that runs a callback due now as a microtask
 * (which such a page still runs); a later one (axe's time limits on frames and preloads) never
 * fires, as in the page itself. Nothing of the page's own runs there to notice.
 */
const ZERO_DELAY_TIMERS =
  '(function () {' +
  'window.setTimeout = function (fn, ms) { var args = [].slice.call(arguments, 2);' +
  ' if (!ms) Promise.resolve().then(function () { fn.apply(null, args); }); return 0; };' +
  'window.clearTimeout = function () {};' +
  '})();\n';

/**
 * Runs axe on the page and fails listing every violation with its nodes, so the message alone says what to fix.
 * `javaScript: false` for a page opened in a context with JavaScript off (checked as such a reader gets it,
 * the page's scripts not run). axe-core counts every <noscript> as hidden whatever the browser shows, so what one
 * holds is not checked by axe: a test asserts on it itself.
 */
export async function assertAccessible(
  page: Page,
  what: string,
  options: { javaScript?: boolean } = {},
): Promise<void> {
  const builder =
    options.javaScript === false
      ? // Legacy mode runs axe in the page itself, not in a second blank page that would need the same help.
        new AxeBuilder({ page, axeSource: ZERO_DELAY_TIMERS + axe.source }).setLegacyMode()
      : new AxeBuilder({ page });
  let timer: NodeJS.Timeout | undefined;
  const { violations } = await Promise.race([
    builder.withTags(WCAG_A_AA).analyze(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`axe did not finish on ${what} (${page.url()}) within ${AXE_TIMEOUT_MS / 1000} s`)),
        AXE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
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
