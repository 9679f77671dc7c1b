// Headless Chromium for the browser tests: Debian's package driven by
// playwright-core, with a fresh profile per run. Chromium is required, not
// optional: .ci/run installs it; set HS_CHROMIUM to use another binary. A
// missing browser fails the run.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

const CHROMIUM = process.env.HS_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Screenshots go here (git-ignored) for a person to look at. */
export const SCREENSHOTS = path.resolve(__dirname, '../../test-output/browser');

export interface LaunchedChromium {
  browser: Browser;
  /** The first context (the profile's); open others with browser.newContext(). */
  context: BrowserContext;
  close(): Promise<void>;
}

/** `args`: flags added to the usual ones (e.g. `--host-resolver-rules` to give test servers host names). */
export async function launchChromium(
  viewport: { width: number; height: number },
  args: string[] = [],
): Promise<LaunchedChromium> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set HS_CHROMIUM`,
    );
  }
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  const profileDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hs-chromium-'));
  // launchPersistentContext is how playwright takes --user-data-dir.
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...args],
    viewport,
  });
  const browser = context.browser()!;
  return {
    browser,
    context,
    async close() {
      await context.close();
      await browser.close().catch(() => undefined);
      await fsp.rm(profileDir, { recursive: true, force: true });
    },
  };
}
