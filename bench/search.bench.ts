// Reader search (docs/benchmarks.md, "Search"):
//  1. index size per 1,000 articles: sites of HS_BENCH_SEARCH_SIZES articles
//     (default 1000,10000,100000) of generated text with a Zipf vocabulary of
//     50,000 words (the fixtures' text has a few hundred words, far fewer than
//     news), indexed with the producer's own functions (common/search-index-
//     format.ts, producer/search-index.ts: the same scores, shards and bytes)
//     in memory, bytes raw and brotli (the variant mirrors serve; brotli
//     measured on every HS_BENCH_SEARCH_BROTLI_SAMPLE-th file, default 10);
//  2. query time on the largest site in Chromium with a phone CPU (CDP
//     Emulation.setCPUThrottlingRate 4): the search page and script as the
//     producer renders them, the files served with the mirror's CSP from a
//     local server; first query in a fresh browser context (nothing cached)
//     and the same query again (root and shards in the HTTP cache);
//  3. save → findable on a mirror: the embedded site (SQLite, app, producer,
//     mirror), HS_BENCH_SEARCH_SAVES articles (default 20) published one after
//     another through the API, each timed until the mirror's root names a
//     shard that holds the article's own word.
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { startEmbedded } from '../bin/embedded';
import { encodeVariants } from '../common/content-coding';
import { sha256Hex } from '../common/hash';
import {
  DOCS_PER_FILE,
  docsFileOf,
  docsFilePath,
  SEARCH_ROOT_PATH,
  searchTerms,
  shardOf,
  termScores,
  termShardPath,
  TOP_POSTINGS,
} from '../common/search-index-format';
import { contentSecurityPolicy } from '../mirrors/security-headers';
import { Random } from '../fixtures/text';
import { createRenderer } from '../producer/renderer';
import { docEntry, docsFileBody, rootBody, termShardBody } from '../producer/search-index';
import { launchChromium } from '../test/support/chromium';
import { embeddedTestConfig } from '../test/support/embedded-config';
import { report, Row } from './report';

const VOCABULARY = 50_000;
const WORDS_PER_ARTICLE = 300;
const JSON_TYPE = 'application/json; charset=utf-8';
const BROTLI_SAMPLE = Number(process.env.HS_BENCH_SEARCH_BROTLI_SAMPLE ?? 10);

/** Made-up words from syllables, and a Zipf (s = 1.07) draw over them: news text's long tail. */
function textSource(random: Random) {
  const syllables = 'ka lo mi ne ru sa to vi de ba fe gu ho ji ly ma no pe qui ra se tu vo wa xe yo za'.split(' ');
  const words: string[] = [];
  const seen = new Set<string>();
  while (words.length < VOCABULARY) {
    const n = 2 + random.int(3);
    let w = '';
    for (let i = 0; i < n; i++) w += random.pick(syllables);
    if (seen.has(w)) continue;
    words.push(w);
    seen.add(w);
  }
  const cdf: number[] = [];
  let sum = 0;
  for (let r = 1; r <= VOCABULARY; r++) cdf.push((sum += 1 / r ** 1.07));
  const draw = () => {
    const x = random.next() * sum;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo];
  };
  const sentence = (n: number) => Array.from({ length: n }, draw).join(' ');
  return { words, sentence };
}

interface BuiltIndex {
  files: Map<string, { body: Buffer; type: string }>;
  uniqueWord: (i: number) => string;
  words: string[];
}

/** The index of `articles` generated articles, built in memory with the producer's functions. */
function buildIndex(articles: number): BuiltIndex {
  const random = new Random(7);
  const text = textSource(random);
  const uniqueWord = (i: number) => `zq${i.toString(36)}x`;
  const postings = new Map<string, number[]>();
  const df = new Map<string, number>();
  const prune = (list: number[]) => {
    const pairs: [number, number][] = [];
    for (let i = 0; i < list.length; i += 2) pairs.push([list[i], list[i + 1]]);
    pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return pairs.slice(0, TOP_POSTINGS).flat();
  };
  const docFiles = new Map<number, { doc: number; entry: string }[]>();
  for (let i = 1; i <= articles; i++) {
    const doc = i * 2;
    const title = text.sentence(7);
    const summary = text.sentence(18);
    const body = `${text.sentence(WORDS_PER_ARTICLE)} ${uniqueWord(i)}`;
    const { scores } = termScores(title, `${summary} ${body}`);
    for (const [term, score] of scores) {
      df.set(term, (df.get(term) ?? 0) + 1);
      let list = postings.get(term);
      if (!list) postings.set(term, (list = []));
      list.push(doc, score);
      if (list.length > 8 * TOP_POSTINGS) postings.set(term, prune(list));
    }
    const shown = { url: `/news/article-${i}`, title, date: Date.UTC(2026, 0, 1) + i * 60_000, summary, text: '' };
    const file = docsFileOf(doc);
    if (!docFiles.has(file)) docFiles.set(file, []);
    docFiles.get(file)!.push({ doc, entry: docEntry(shown) });
  }
  const shards = new Map<number, { term: string; df: number; top: string }[]>();
  for (const [term, list] of postings) {
    const s = shardOf(term);
    if (!shards.has(s)) shards.set(s, []);
    shards.get(s)!.push({ term, df: df.get(term)!, top: JSON.stringify(prune(list)) });
  }
  postings.clear();
  const files = new Map<string, { body: Buffer; type: string }>();
  const hashes = new Map<number, string>();
  for (const [shard, rows] of shards) {
    const body = termShardBody(rows);
    const hash = sha256Hex(body).slice(0, 12);
    hashes.set(shard, hash);
    files.set(termShardPath(shard, hash), { body, type: JSON_TYPE });
  }
  for (const [file, rows] of docFiles) files.set(docsFilePath(file), { body: docsFileBody(rows), type: JSON_TYPE });
  files.set(SEARCH_ROOT_PATH, { body: rootBody(articles, hashes), type: JSON_TYPE });
  return { files, uniqueWord, words: text.words };
}

async function sizes(index: BuiltIndex): Promise<{ raw: number; br: number; shardMax: number; shardMean: number }> {
  let raw = 0;
  const shardSizes: number[] = [];
  // Brotli at the producer's settings is slow: measured on every SAMPLE-th file and scaled by bytes.
  let sampledRaw = 0;
  let sampledBr = 0;
  let i = 0;
  for (const [p, f] of index.files) {
    raw += f.body.length;
    if (i++ % BROTLI_SAMPLE === 0) {
      sampledRaw += f.body.length;
      sampledBr += (await encodeVariants(f.body)).br.length;
    }
    if (p.startsWith('/assets/search/')) shardSizes.push(f.body.length);
  }
  const br = Math.round((raw * sampledBr) / sampledRaw);
  return {
    raw,
    br,
    shardMax: Math.max(...shardSizes),
    shardMean: shardSizes.reduce((a, b) => a + b, 0) / shardSizes.length,
  };
}

/** Serves the index, the search page and script as a mirror would (its CSP; shards immutable, the rest short-lived). */
async function serve(index: BuiltIndex): Promise<{ url: string; close(): Promise<void> }> {
  const renderer = createRenderer({ name: 'Bench', publicUrl: 'http://localhost' });
  const page = Buffer.from(renderer.render('search.njk', {}));
  const files = new Map(index.files);
  files.set('/search', { body: page, type: 'text/html; charset=utf-8' });
  for (const f of renderer.files) files.set(f.path, { body: f.body, type: f.contentType });
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    const file = files.get(p);
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, {
      'content-type': file.type,
      'content-length': file.body.length,
      'content-security-policy': contentSecurityPolicy("'none'"),
      'cache-control': p.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
    });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Milliseconds for searchIndex (the page's own function) on a phone-throttled CPU: first in a fresh context, then again. */
async function queryTimes(url: string, queries: string[]): Promise<Row[]> {
  const chromium = await launchChromium({ width: 390, height: 844 });
  const rows: Row[] = [];
  try {
    for (const q of queries) {
      const context = await chromium.browser.newContext({ viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
      await page.goto(`${url}/search`);
      const timed = () =>
        page.evaluate(async (query) => {
          const g = globalThis as unknown as { searchIndex(q: string, reload: boolean): Promise<unknown[]> };
          const t0 = performance.now();
          const results = await g.searchIndex(query, false);
          return { ms: performance.now() - t0, results: results.length };
        }, q);
      const cold = await timed();
      const warm = await timed();
      const t0 = Date.now();
      await page.goto(`${url}/search?q=${encodeURIComponent(q)}`);
      await page.locator('#search-status', { hasText: /result/ }).waitFor();
      rows.push({
        query: q,
        results: cold.results,
        'first query ms': Math.round(cold.ms),
        'again ms': Math.round(warm.ms),
        'page load to results ms': Date.now() - t0,
      });
      await context.close();
    }
  } finally {
    await chromium.close();
  }
  return rows;
}

/** Save → findable on the embedded site's mirror, per article. */
async function findable(saves: number): Promise<number[]> {
  const { dataDir, config } = await embeddedTestConfig('search-bench', { MIRROR_STATUS_INTERVAL_MS: '0' });
  const site = await startEmbedded(config);
  const times: number[] = [];
  try {
    for (let i = 0; i < saves; i++) {
      const word = `benchword${i}q${Date.now().toString(36)}`;
      const t0 = performance.now();
      const res = await fetch(`${site.appUrl}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${site.adminToken}` },
        body: JSON.stringify({ title: `Bench ${i}`, summary: 'x', body: `<p>${word}</p>`, status: 'published' }),
      });
      if (res.status !== 201) throw new Error(`save answered ${res.status}`);
      const [term] = searchTerms(word);
      for (;;) {
        const root = await fetch(`${site.mirrorUrl}${SEARCH_ROOT_PATH}`);
        if (root.ok) {
          const hash = ((await root.json()) as { shards: string[] }).shards[shardOf(term)];
          const shard = hash ? await fetch(`${site.mirrorUrl}${termShardPath(shardOf(term), hash)}`) : undefined;
          if (shard?.ok && term in ((await shard.json()) as Record<string, unknown>)) break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      times.push(performance.now() - t0);
    }
  } finally {
    await site.close();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
  return times;
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function main(): Promise<void> {
  // HS_BENCH_SEARCH_SIZES=none: only the save → findable part.
  const sizesToRun = (process.env.HS_BENCH_SEARCH_SIZES ?? '1000,10000,100000')
    .split(',')
    .filter((x) => x !== 'none')
    .map(Number);
  const rows: Row[] = [];
  let largest: BuiltIndex | undefined;
  for (const articles of sizesToRun) {
    const t0 = Date.now();
    const index = buildIndex(articles);
    const s = await sizes(index);
    rows.push({
      articles,
      files: index.files.size,
      'MB raw': s.raw / 1e6,
      'MB brotli': s.br / 1e6,
      'KB raw per 1,000 articles': Math.round(s.raw / articles),
      'KB brotli per 1,000 articles': Math.round(s.br / articles),
      'mean shard KB': Math.round(s.shardMean / 1000),
      'largest shard KB': Math.round(s.shardMax / 1000),
      'root KB': Math.round(index.files.get(SEARCH_ROOT_PATH)!.body.length / 1000),
      'build s': (Date.now() - t0) / 1000,
    });
    process.stdout.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    largest = index;
  }
  report('search', 'Search index size (`npm run bench -- search`)', rows, { docsPerFile: DOCS_PER_FILE });
  if (largest) await queryFigures(largest, sizesToRun[sizesToRun.length - 1]);
  const saves = Number(process.env.HS_BENCH_SEARCH_SAVES ?? 20);
  if (saves < 1) return;
  const times = await findable(saves);
  report('search-findable', 'Save → findable on the embedded site’s mirror (ms)', [
    {
      saves: times.length,
      median: Math.round(percentile(times, 0.5)),
      p95: Math.round(percentile(times, 0.95)),
      max: Math.round(Math.max(...times)),
      cpus: os.cpus().length,
    },
  ]);
}

/** Query times on the largest site's index, served as a mirror would. */
async function queryFigures(index: BuiltIndex, articles: number): Promise<void> {
  const server = await serve(index);
  const queries = [
    index.words[3],
    index.words[400],
    index.words[20_000],
    index.uniqueWord(Math.ceil(articles / 2)),
    `${index.words[10]} ${index.words[700]} ${index.words[9000]}`,
  ];
  try {
    const rows = await queryTimes(server.url, queries);
    report('search-query', `Query time on a ${articles}-article index, Chromium with CPU throttling ×4`, rows);
  } finally {
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
