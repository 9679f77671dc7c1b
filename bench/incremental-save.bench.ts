// Incremental save on MariaDB + Redis: a site of each size is generated and
// rebuilt, then a real app and producer run for every site at once and an
// editor saves through the JSON API, alternating between the sites save by
// save, so load from anything else on the machine falls on every size alike
// and the ratio compares the sites, not two moments. For each save: pages
// journaled, and the time from the API's answer to the save being rendered.
// Sizes: HS_BENCH_SAVE_SIZES (default 1000,100000); saves per kind and size:
// HS_BENCH_SAVES (default 30). Target (issue 3): the largest within 1.25x of
// the smallest.
import { createDatabase as createKnex, Database } from '../common/db/database';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import type { RunningService } from '../common/lifecycle';
import { migrateLatest } from '../app/db/migrate';
import { startApp } from '../app/main';
import { createApiToken, createUser } from '../app/auth/users';
import { generateSite } from '../fixtures/generate';
import { startProducer } from '../producer/main';
import { createDatabase, startMariaDBCluster, TestDatabase } from '../test/harness/mariadb';
import { startRedis } from '../test/harness/redis';
import { percentile, report, Row } from './report';
import { runRebuild, tuneForBench } from './rebuild.bench';

const SAVES = Number(process.env.HS_BENCH_SAVES ?? 30);
const WARMUP = 3;
const KINDS = ['new article', 'edit (body)', 'edit (title)'] as const;

interface Site {
  size: number;
  target: TestDatabase;
  db: Database;
  token: string;
  maxId: number;
  producer: RunningService;
  app: RunningService;
}

/** One save through the API; resolves with the time from its answer to its render, and the pages its batch journaled. */
async function timedSave(site: Site, kind: (typeof KINDS)[number], i: number): Promise<{ ms: number; pages: number }> {
  const id = 1 + ((i * 7919) % site.maxId);
  const [method, path, body] =
    kind === 'new article'
      ? [
          'POST',
          '/api/articles',
          {
            title: `Bench story ${site.size} ${i}`,
            body: '<p>Fresh news</p>',
            status: 'published',
            section: 'news',
            tags: ['Housing', 'Rent'],
          },
        ]
      : [
          'PUT',
          `/api/articles/${id}`,
          kind === 'edit (body)' ? { body: `<p>Corrected ${i}</p>` } : { title: `Corrected headline ${i}` },
        ];
  const res = await fetch(`${site.app.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${site.token}` },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  const answered = performance.now();
  const saved = (await res.json()) as { id: number; url: string };
  // The save is rendered when its outbox rows are done (drafts/hidden included).
  for (;;) {
    const open = await site
      .db('outbox')
      .where({ item_id: saved.id, topic: 'article' })
      .whereNull('done_at')
      .first('id');
    if (!open) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  const ms = performance.now() - answered;
  const last = await site.db('journal').where({ path: saved.url }).orderBy('seq', 'desc').first('batch');
  const pages = last ? Number((await site.db('journal').where({ batch: last.batch }).count({ n: '*' }))[0].n) : 0;
  return { ms, pages };
}

async function main(): Promise<void> {
  const sizes = (process.env.HS_BENCH_SAVE_SIZES ?? '1000,100000').split(',').map(Number);
  const [cluster, redis] = await Promise.all([startMariaDBCluster({ replicas: 0 }), startRedis()]);
  const sites: Site[] = [];
  const rows: Row[] = [];
  try {
    await tuneForBench((sql) => cluster.primary.query(sql));
    for (const size of sizes) {
      const target = await createDatabase(cluster, `save${size}`);
      const db = createKnex(target.primaryUrl);
      await migrateLatest(db);
      await generateSite(db, { articles: size, seed: 42 });
      const rebuilt = await runRebuild(target.primaryUrl);
      process.stdout.write(`site of ${size} articles: ${rebuilt.pages} pages\n`);
      await createUser(db, 'bench', 'editor', null);
      const token = await createApiToken(db, 'bench');
      const config = loadConfig({
        DATABASE_URL: target.primaryUrl,
        REDIS_URL: redis.url,
        REDIS_PREFIX: `bench${size}`,
        APP_PORT: '0',
        LOG_LEVEL: 'silent',
        PRODUCER_CONCURRENCY: '1',
      });
      const logger = createLogger('silent', 'bench');
      const producer = await startProducer(config, { logger });
      const app = await startApp(config, { logger });
      const maxId = Number((await db('articles').max({ m: 'id' }).first())?.m);
      sites.push({ size, target, db, token, maxId, producer, app });
    }
    const medians = new Map<string, number>();
    for (const kind of KINDS) {
      const measured = new Map(sites.map((s) => [s.size, { ms: [] as number[], pages: [] as number[] }]));
      for (let i = 0; i < SAVES + WARMUP; i++) {
        // Alternate which site goes first, so neither always follows the other's save.
        const order = i % 2 === 0 ? sites : [...sites].reverse();
        for (const site of order) {
          const { ms, pages } = await timedSave(site, kind, i);
          if (i < WARMUP) continue;
          measured.get(site.size)!.ms.push(ms);
          measured.get(site.size)!.pages.push(pages);
        }
      }
      for (const site of sites) {
        const m = measured.get(site.size)!;
        const median = percentile(m.ms, 50);
        medians.set(`${kind}:${site.size}`, median);
        rows.push({
          articles: site.size,
          save: kind,
          saves: m.ms.length,
          'pages/save': percentile(m.pages, 50),
          'median ms': median,
          'p95 ms': percentile(m.ms, 95),
        });
        process.stdout.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
      }
    }
    if (sizes.length >= 2) {
      const [lo, hi] = [sizes[0], sizes[sizes.length - 1]];
      for (const row of rows.filter((r) => r.articles === hi)) {
        const ratio = medians.get(`${row.save}:${hi}`)! / medians.get(`${row.save}:${lo}`)!;
        row[`vs ${lo}`] = `${ratio.toFixed(2)}x ${ratio <= 1.25 ? 'met' : 'MISSED'}`;
      }
    }
    rows.sort((a, b) => Number(a.articles) - Number(b.articles));
    report(
      'incremental-save',
      'Incremental save, API answer to journal entry (`npm run bench -- incremental`; saves alternate between the sites); target: largest within 1.25x of smallest',
      rows,
    );
  } finally {
    for (const site of sites) {
      await site.app.close();
      await site.producer.close();
      await site.db.destroy();
      await site.target.drop();
    }
    await Promise.all([cluster.stop(), redis.stop()]);
  }
}

// Exits explicitly: a pool or queue timer left by a closed service must not keep the bench alive.
main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
