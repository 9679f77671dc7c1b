// The article edit page on a throttled phone in Chromium (Debian's package,
// playwright-core): CPU slowed 4× (CDP Emulation.setCPUThrottlingRate) and
// a slow 4G network (Network.emulateNetworkConditions: 150 ms round trip,
// 1.6 Mbit/s down, 750 kbit/s up), cache off, 390×844 viewport. "Interactive"
// is the moment the rich editor has replaced the body field and answers
// typing (data-ready on .rich-editor), read from the page's own clock since
// navigation start; DOMContentLoaded and load beside it. Also the editor
// script's size: raw, gzip -9 and brotli 11 (as the app stores them), and
// what the browser actually received (bytes on the wire, Content-Encoding).
//   npm run bench -- editor-load          (HS_BENCH_EDITOR_RUNS=5 by default)
import fsp from 'node:fs/promises';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { startEmbedded } from '../bin/embedded';
import { launchChromium } from '../test/support/chromium';
import { embeddedTestConfig } from '../test/support/embedded-config';
import { percentile, report } from './report';

const RUNS = Number(process.env.HS_BENCH_EDITOR_RUNS ?? 5);
const PASSWORD = 'bench-editor-password';
const SLOW_4G = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6e6 / 8) | 0,
  uploadThroughput: (750e3 / 8) | 0,
};

async function main(): Promise<void> {
  const { dataDir, config } = await embeddedTestConfig('bench-editor');
  process.env.HYPERSTATIC_ADMIN_PASSWORD = PASSWORD;
  const site = await startEmbedded(config);
  const chromium = await launchChromium({ width: 390, height: 844 });
  try {
    const page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    await page.goto(`${site.appUrl}/editor/login`);
    await page.fill('input[name="name"]', 'admin');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(/\/editor$/), page.click('button[type="submit"]')]);
    const script = await (await page.request.get(`${site.appUrl}/editor/static/rich-editor.js`)).body();
    const cdp = await chromium.context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    // What the throttled page received for the script: its encoded body size and coding, per run.
    const received: { bytes: number; coding: string }[] = [];
    page.on('requestfinished', (request) => {
      if (!request.url().includes('/rich-editor.js')) return;
      void Promise.all([request.sizes(), request.response()]).then(([sizes, response]) => {
        received.push({ bytes: sizes.responseBodySize, coding: response?.headers()['content-encoding'] ?? 'identity' });
      });
    });
    const interactive: number[] = [];
    const loaded: number[] = [];
    const dcl: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await page.goto(`${site.appUrl}/editor/articles/1`, { waitUntil: 'load' });
      await page.locator('.rich-editor[data-ready="true"]').waitFor({ timeout: 60_000 });
      const t = await page.evaluate(() => {
        const p = globalThis as unknown as {
          performance: { getEntriesByType(type: string): Array<Record<string, number>> };
          document: { querySelector(s: string): { dataset: Record<string, string> } | null };
        };
        const [nav] = p.performance.getEntriesByType('navigation');
        const ready = Number(p.document.querySelector('.rich-editor')?.dataset.readyAt);
        return { ready, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd };
      });
      interactive.push(t.ready);
      dcl.push(t.dcl);
      loaded.push(t.load);
    }
    const ms = (v: number) => Math.round(v);
    const brotli = brotliCompressSync(script, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
    }).length;
    const wire = received.map((r) => r.bytes);
    const codings = [...new Set(received.map((r) => r.coding))].join(', ');
    report(
      'editor-load',
      'Article edit page, throttled phone (CPU 4×, slow 4G, no cache)',
      [
        { measure: 'editor interactive (ms)', p50: ms(percentile(interactive, 50)), max: ms(Math.max(...interactive)) },
        { measure: 'DOMContentLoaded (ms)', p50: ms(percentile(dcl, 50)), max: ms(Math.max(...dcl)) },
        { measure: 'load (ms)', p50: ms(percentile(loaded, 50)), max: ms(Math.max(...loaded)) },
        { measure: 'rich-editor.js (bytes)', p50: script.length, max: script.length },
        {
          measure: 'rich-editor.js gzip -9 (bytes)',
          p50: gzipSync(script, { level: 9 }).length,
          max: gzipSync(script, { level: 9 }).length,
        },
        { measure: 'rich-editor.js brotli 11 (bytes)', p50: brotli, max: brotli },
        { measure: `rich-editor.js received (bytes, ${codings})`, p50: percentile(wire, 50), max: Math.max(...wire) },
      ],
      { runs: RUNS, network: SLOW_4G, cpuThrottlingRate: 4, receivedCodings: codings },
    );
  } finally {
    await chromium.close();
    await site.close();
    delete process.env.HYPERSTATIC_ADMIN_PASSWORD;
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
