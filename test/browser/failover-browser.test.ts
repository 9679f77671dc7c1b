// Browser failover as a reader meets it (docs/mirrors.md, "Browser
// failover"), in headless Chromium with real processes: the embedded site
// (origin, its SQLite database, mirror A and the cache proxy in one process)
// and two more mirrors, B and C, following it, all pinning 2 of 3 root keys
// that delegate the site key; three host names (a.localhost, b.localhost,
// c.localhost: secure contexts on loopback, as service workers need), listed
// in the signed mirror list. The first visit through A installs the worker;
// A is killed (with it the origin and the database); the next navigation
// loads from B with a note saying so, links keep working, a page tampered on
// B is refused and taken from C, today's search (the index files are
// journaled pages) runs on B's copy through the worker, and with every
// mirror gone the reader gets a plain page saying so. Failover time over 20 navigations is printed
// (p50/max). Screenshots: test-output/browser/failover-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { freePort } from '../harness/free-port';
import { waitFor } from '../harness/wait';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../support/chromium';
import { runCli, type CliRun } from '../support/cli';
import { startHyperstatic, type HyperstaticProcess } from '../support/processes';

const PATIENCE = 60_000;
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

async function assertAccessible(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_A_AA).analyze();
  const report = violations.map((v) => `- ${v.id}: ${v.help}: ${v.nodes.map((n) => n.target.join(' '))}`).join('\n');
  assert.equal(violations.length, 0, `${what} has accessibility violations:\n${report}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('browser failover to other mirrors', { timeout: 300_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-failover-'));
  const dataDir = path.join(work, 'site');
  const cli = (args: string[]): Promise<CliRun> =>
    runCli(args, { env: { ...process.env, LOG_LEVEL: 'silent', DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' } });
  let site: HyperstaticProcess;
  const mirrors: Record<'b' | 'c', HyperstaticProcess | undefined> = { b: undefined, c: undefined };
  let chromium: LaunchedChromium;
  let page: Page;
  const ports = { a: 0, b: 0, c: 0 };
  const at = (name: 'a' | 'b' | 'c') => `http://${name}.localhost:${ports[name]}`;
  let appUrl: string;
  let token: string;
  const articles: { title: string; url: string }[] = [];
  const errors: string[] = [];
  /** A word only in the first article's body, looked up with A gone. */
  const BODY_WORD = 'breakwater';

  async function publish(title: string, more = ''): Promise<void> {
    const res = await fetch(`${appUrl}/api/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, body: `<p>${title}: the full story.${more}</p>`, status: 'published' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    articles.push({ title, url: ((await res.json()) as { url: string }).url });
  }

  async function ok(run: Promise<CliRun>): Promise<CliRun> {
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    return done;
  }

  /** The root keys (2 of 3), and the site key delegated by two of them, made as root holders would. */
  async function delegateSiteKey(): Promise<string[]> {
    const roots: string[] = [];
    for (const holder of ['alice', 'bob', 'carol']) {
      const made = await ok(cli(['keys', 'root', 'init', '--out', path.join(work, holder, 'root.key')]));
      roots.push(/root key id: +(\S+)/.exec(made.stdout)![1]);
    }
    await ok(cli(['keys', 'init']));
    const siteKey = (await ok(cli(['keys', 'show']))).stdout.trim();
    const statement = path.join(work, 'primary.json');
    // prettier-ignore
    await ok(cli(['keys', 'delegate', '--site-key', siteKey, '--site', 'primary', '--epochs', '1-', '--expires', '30d', '--root-key', path.join(work, 'alice', 'root.key'), '--out', statement]));
    await ok(cli(['keys', 'sign', statement, '--root-key', path.join(work, 'bob', 'root.key')]));
    return roots;
  }

  before(async () => {
    const roots = await delegateSiteKey();
    const rootEnv = { MIRROR_ROOT_KEYS: roots.join(','), MIRROR_ROOT_THRESHOLD: '2' };
    const appPort = await freePort();
    site = await startHyperstatic(
      ['all'],
      {
        ...rootEnv,
        DATA_DIR: dataDir,
        APP_PORT: String(appPort),
        MIRROR_PORT: String(await freePort()),
        PROXY_ACCESS_LOG: 'false',
        MIRROR_STATUS_INTERVAL_MS: '0',
      },
      { portVariable: 'PROXY_PORT', timeoutMs: PATIENCE },
    );
    ports.a = site.port;
    appUrl = `http://127.0.0.1:${appPort}`;
    await ok(cli(['keys', 'install', path.join(work, 'primary.json'), '--roots', roots.join(','), '--threshold', '2']));
    token = (await ok(cli(['token', 'create', '--user', 'admin']))).stdout.trim();
    for (const name of ['b', 'c'] as const) ports[name] = await freePort();
    for (const name of ['a', 'b', 'c'] as const)
      await ok(cli(['mirrors', 'add', at(name), '--note', `mirror ${name}`]));
    await publish('Harbour reopens after the storm', ` The ${BODY_WORD} held.`);
    await publish('Council meets on the flood plan');
    for (const name of ['b', 'c'] as const)
      mirrors[name] = await startHyperstatic(
        ['mirror'],
        {
          ...rootEnv,
          MIRROR_ORIGIN_URLS: appUrl,
          MIRROR_DATA_DIR: path.join(work, `mirror-${name}`),
          MIRROR_PUBLIC_KEY: '',
          // B replays the feed (a signed change proves each page); C loads the origin's manifest first
          // (the kept signed manifest proves the pages unchanged since).
          MIRROR_BOOTSTRAP: name === 'c' ? 'true' : 'false',
          MIRROR_STATUS_INTERVAL_MS: '0',
          MIRROR_RECONNECT_MS: '50',
          LOG_LEVEL: 'error',
        },
        { port: ports[name], portVariable: 'MIRROR_PORT' },
      );
    for (const name of ['a', 'b', 'c'] as const)
      await waitFor(
        async () => {
          const list = await fetch(`http://127.0.0.1:${ports[name]}/mirrors.json`);
          const article = await fetch(`http://127.0.0.1:${ports[name]}${articles[1].url}`);
          const search = await fetch(`http://127.0.0.1:${ports[name]}/search/index.json`);
          const indexed = search.ok && ((await search.json()) as { docs: number }).docs >= 2;
          return list.ok && (await list.text()).includes('c.localhost') && article.ok && indexed;
        },
        { what: `mirror ${name} to hold the list, both articles and their search index`, timeoutMs: PATIENCE },
      );
    chromium = await launchChromium({ width: 1024, height: 800 }, ['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  });

  after(async () => {
    await chromium?.close();
    for (const p of [site, mirrors.b, mirrors.c]) await p?.kill();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs the worker on the first visit through A, keeping the verified mirror list', async () => {
    assert.equal((await page.goto(`${at('a')}/`))?.status(), 200);
    await page.evaluate(async () => {
      const nav = (globalThis as unknown as { navigator: { serviceWorker: { ready: Promise<unknown> } } }).navigator;
      await nav.serviceWorker.ready;
    });
    await waitFor(
      () =>
        page.evaluate(async () => {
          const store = (
            globalThis as unknown as { caches: { open(n: string): Promise<{ match(u: string): Promise<unknown> }> } }
          ).caches;
          return Boolean(await (await store.open('hyperstatic-failover-v1')).match('/mirrors.json'));
        }),
      { what: 'the worker to keep the verified mirror list', timeoutMs: 10_000 },
    );
    // The worker controls pages loaded from now on.
    await page.reload();
    assert.ok(
      await page.evaluate(() =>
        Boolean(
          (globalThis as unknown as { navigator: { serviceWorker: { controller: unknown } } }).navigator.serviceWorker
            .controller,
        ),
      ),
    );
    assert.equal(await page.locator('.hs-frozen').count(), 0, 'no note while the usual address answers');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failover-1-first-visit-a.png') });
  });

  it('with A, the origin and its database killed, the next navigation loads from B with a note, and links keep working', async () => {
    await site.kill();
    // A reader who visited yesterday: what the browser cached then has expired (index pages live 60 s).
    const cdp = await chromium.context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
    const started = Date.now();
    assert.equal((await page.goto(`${at('a')}/`))?.status(), 200);
    const took = Date.now() - started;
    console.log(
      `browser failover: the first navigation after A died took ${took} ms (list verified, B's trust fetched)`,
    );
    assert.ok(took < 3000, `the home page took ${took} ms from another mirror`);
    assert.equal(new URL(page.url()).host, `a.localhost:${ports.a}`, 'the reader stays at the address they used');
    const note = page.getByRole('note');
    assert.match((await note.textContent()) ?? '', new RegExp(`another copy at b\\.localhost:${ports.b}`));
    assert.ok(await page.getByRole('heading', { name: articles[0].title }).count());
    await assertAccessible(page, 'the home page from mirror B');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failover-2-home-from-b.png') });

    await page.getByRole('link', { name: articles[0].title }).first().click();
    await page.waitForURL(`${at('a')}${articles[0].url}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), articles[0].title);
    assert.match((await page.getByRole('note').textContent()) ?? '', /b\.localhost/);
    // The stylesheet came through the worker too: the page is styled, not bare HTML.
    const font = await page
      .locator('body')
      .evaluate(
        (b) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { fontFamily: string } }).getComputedStyle(b)
            .fontFamily,
      );
    assert.doesNotMatch(font, /^"?Times/, 'the site stylesheet applies');
    await assertAccessible(page, 'an article from mirror B');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failover-3-article-from-b.png') });
  });

  it("finds today's article with search from B within 3 s, the index files verified like pages", async () => {
    const started = Date.now();
    assert.equal((await page.goto(`${at('a')}/search?q=${BODY_WORD}`))?.status(), 200);
    const results = page.locator('#search-results li');
    await results.first().waitFor({ timeout: 3000 });
    const took = Date.now() - started;
    console.log(
      `browser failover: search for a body word from B took ${took} ms (page, script, root, shard, metadata)`,
    );
    assert.ok(took < 3000, `the search took ${took} ms from another mirror`);
    assert.equal(await results.count(), 1, 'the one article holding the word');
    const link = results.getByRole('link', { name: articles[0].title });
    assert.equal(await link.getAttribute('href'), articles[0].url);
    assert.equal(await page.getByRole('status').textContent(), `1 result for “${BODY_WORD}”.`);
    assert.match((await page.getByRole('note').textContent()) ?? '', new RegExp(`b\\.localhost:${ports.b}`));
    // The index files the script read come through the worker from B, checked; A and the origin are dead.
    const root = (await page.evaluate(async () => (await fetch('/search/index.json')).json())) as {
      shards: Record<string, string | null>;
    };
    const [shard, hash] = Object.entries(root.shards).find(([, h]) => h)!;
    const files = ['/search/index.json', `/assets/search/terms-${shard}-${hash}.json`, '/search/docs/0.json'];
    const servedBy = await page.evaluate(
      (paths) => Promise.all(paths.map(async (p) => (await fetch(p)).headers.get('hyperstatic-served-by'))),
      files,
    );
    assert.deepEqual(servedBy, Array(3).fill(`http://b.localhost:${ports.b}`));
    await assertAccessible(page, 'search results from mirror B');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failover-3b-search-from-b.png') });
    await link.click();
    await page.waitForURL(`${at('a')}${articles[0].url}`);
    assert.match((await page.locator('main').textContent()) ?? '', new RegExp(`The ${BODY_WORD} held`));
  });

  it('refuses a page tampered on B and takes it from C', async () => {
    const proof = (await (
      await fetch(
        `http://127.0.0.1:${ports.b}/.well-known/hyperstatic/proof?path=${encodeURIComponent(articles[1].url)}`,
      )
    ).json()) as { entries: { path: string; sha256: string; variants?: Record<string, { sha256: string }> }[] };
    const entry = proof.entries.filter((e) => e.path === articles[1].url).pop()!;
    const blob = (sha: string) => path.join(work, 'mirror-b', 'blobs', sha.slice(0, 2), sha);
    // B's operator changes the story on disk, in the page's bytes and in its stored compressed variants alike.
    const forged = Buffer.from(fs.readFileSync(blob(entry.sha256), 'utf8').replace('the full story', 'a forged story'));
    fs.writeFileSync(blob(entry.sha256), forged);
    const encode = { br: zlib.brotliCompressSync, gzip: zlib.gzipSync };
    for (const [coding, variant] of Object.entries(entry.variants ?? {}))
      fs.writeFileSync(blob(variant.sha256), encode[coding as keyof typeof encode](forged));
    // B serves the forged page to anyone who asks it...
    assert.match(await (await fetch(`http://127.0.0.1:${ports.b}${articles[1].url}`)).text(), /a forged story/);
    assert.match(await (await fetch(`http://127.0.0.1:${ports.b}/blobs/${entry.sha256}`)).text(), /a forged story/);
    // ...but the reader's worker refuses them and asks C, which bootstrapped: its signed manifest is the proof.
    const direct = `http://127.0.0.1:${ports.c}/.well-known/hyperstatic`;
    assert.equal((await fetch(`${direct}/proof?path=${encodeURIComponent(articles[1].url)}`)).status, 404);
    assert.equal((await fetch(`${direct}/manifest.ndjson`)).status, 200);
    assert.equal((await page.goto(`${at('a')}${articles[1].url}`))?.status(), 200);
    assert.match((await page.getByRole('note').textContent()) ?? '', new RegExp(`c\\.localhost:${ports.c}`));
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /the full story/);
    assert.doesNotMatch(text, /forged/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failover-4-tampered-on-b-read-from-c.png') });
  });

  it('loads pages from another mirror within 3 s: failover time over 20 navigations', async () => {
    const times: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const target = i % 2 === 0 ? '/' : articles[0].url;
      const started = performance.now();
      const res = await page.goto(`${at('a')}${target}`);
      await page.getByRole('note').waitFor();
      times.push(performance.now() - started);
      assert.equal(res?.status(), 200);
    }
    const sorted = [...times].sort((x, y) => x - y);
    const p50 = percentile(sorted, 50);
    const max = sorted[sorted.length - 1];
    console.log(
      `browser failover (A down, B answering): p50 ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms over 20 navigations`,
    );
    assert.ok(max < 3000, `a navigation took ${max.toFixed(0)} ms`);
  });

  it('with every mirror gone, says plainly that the page cannot be reached', async () => {
    for (const name of ['b', 'c'] as const) await mirrors[name]?.kill();
    assert.equal((await page.goto(`${at('a')}/`))?.status(), 503);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'This page cannot be reached');
    await assertAccessible(page, 'the page saying no copy could be reached');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failover-5-nothing-reachable.png') });
    assert.deepEqual(
      errors.filter((e) => /Content Security Policy/i.test(e)),
      [],
    );
  });
});
