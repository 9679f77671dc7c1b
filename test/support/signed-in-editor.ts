// The setup of the editor's browser tests: an embedded site (its own data
// directory and ports) whose sample admin account has a known password, and
// Debian's Chromium signed in to the editor as that admin, at desktop size.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startEmbedded, type Embedded } from '../../bin/embedded';
import { SIZES } from './axe';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from './chromium';
import { embeddedTestConfig } from './embedded-config';

export interface SignedInEditor {
  site: Embedded;
  chromium: LaunchedChromium;
  /** The browser page signed in as `admin`. */
  page: Page;
  /** A full-page screenshot of `page` at each size: test-output/browser/NAME-desktop.png and NAME-phone.png. */
  shots(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the site (`env` over the test defaults) and signs the browser in; `name` names its data directory. */
export async function startSignedInEditor(name: string, env: Record<string, string> = {}): Promise<SignedInEditor> {
  const password = `${name}-desk-passphrase`;
  const { dataDir, config } = await embeddedTestConfig(name, env);
  // The sample site's seed gives `admin` this password (fixtures/seed.ts).
  process.env.HYPERSTATIC_ADMIN_PASSWORD = password;
  let site: Embedded | undefined;
  let chromium: LaunchedChromium | undefined;
  const close = async () => {
    await chromium?.close();
    await site?.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    await fsp.rm(dataDir, { recursive: true, force: true });
  };
  try {
    site = await startEmbedded(config);
    chromium = await launchChromium(SIZES.desktop);
    const page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    await page.goto(`${site.appUrl}/editor`);
    await page.fill('input[name="name"]', 'admin');
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForURL(`${site.appUrl}/editor`), page.click('button[type="submit"]')]);
    return {
      site,
      chromium,
      page,
      async shots(shot) {
        for (const [size, viewport] of Object.entries(SIZES)) {
          await page.setViewportSize(viewport);
          await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}-${size}.png`), fullPage: true });
        }
        await page.setViewportSize(SIZES.desktop);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
