// Incremental save on MariaDB + Redis: a site of N articles is generated and
// rebuilt, then the real app and producer run and an editor saves through
// the JSON API. For each save: pages journaled, and the time from the API's
// answer to the article's journal entry. Sizes: HS_BENCH_SAVE_SIZES
// (default 1000,100000). Target (issue 3): the 100k latency within 1.25x of 1k.
import { createDatabase as createKnex } from '../common/database';
import { loadConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { migrateLatest } from '../app/db/migrate';
import { startApp } from '../app/main';
import { createApiToken, createUser } from '../app/auth/users';
import { generateSite } from '../fixtures/generate';
import { startProducer } from '../producer/main';
import { createDatabase, startMariaDBCluster } from '../test/harness/mariadb';
import { startRedis } from '../test/harness/redis';
import { percentile, report, Row } from './report';
import { runRebuild, tuneForBench } from './rebuild.bench';

const SAVES = Number(process.env.HS_BENCH_SAVES ?? 30);

async function main(): Promise<void> {
  const sizes = (process.env.HS_BENCH_SAVE_SIZES ?? '1000,100000').split(',').map(Number);
  const [cluster, redis] = await Promise.all([startMariaDBCluster({ replicas: 0 }), startRedis()]);
  const rows: Row[] = [];
  const medians = new Map<string, number>();
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
      const config = loadConfig({ DATABASE_URL: target.primaryUrl, REDIS_URL: redis.url, REDIS_PREFIX: `bench${size}`, APP_PORT: '0', LOG_LEVEL: 'silent', PRODUCER_CONCURRENCY: '1' });
      const logger = createLogger('silent', 'bench');
      const producer = await startProducer(config, { logger });
      const app = await startApp(config, { logger });
      try {
        const maxId = Number((await db('articles').max({ m: 'id' }).first())?.m);
        for (const kind of ['new article', 'edit (body)', 'edit (title)'] as const) {
          const latencies: number[] = [];
          const pages: number[] = [];
          for (let i = 0; i < SAVES + 3; i++) {
            const id = 1 + ((i * 7919) % maxId);
            const [method, path, body] = kind === 'new article'
              ? ['POST', '/api/articles', { title: `Bench story ${size} ${i}`, body: '<p>Fresh news</p>', status: 'published', section: 'news', tags: ['Housing', 'Rent'] }]
              : ['PUT', `/api/articles/${id}`, kind === 'edit (body)' ? { body: `<p>Corrected ${i}</p>` } : { title: `Corrected headline ${i}` }];
            const res = await fetch(`${app.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
            if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
            const answered = performance.now();
            const saved = (await res.json()) as { id: number; url: string };
            // The save is rendered when its outbox rows are done (drafts/hidden included).
            for (;;) {
              const open = await db('outbox').where({ item_id: saved.id, topic: 'article' }).whereNull('done_at').first('id');
              if (!open) break;
              await new Promise((r) => setTimeout(r, 1));
            }
            const latency = performance.now() - answered;
            const last = await db('journal').where({ path: saved.url }).orderBy('seq', 'desc').first('batch');
            const batchPages = last ? Number((await db('journal').where({ batch: last.batch }).count({ n: '*' }))[0].n) : 0;
            if (i >= 3) {
              latencies.push(latency);
              pages.push(batchPages);
            }
          }
          const median = percentile(latencies, 50);
          medians.set(`${kind}:${size}`, median);
          rows.push({ articles: size, save: kind, saves: latencies.length, 'pages/save': percentile(pages, 50), 'median ms': median, 'p95 ms': percentile(latencies, 95) });
          process.stdout.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
        }
      } finally {
        await app.close();
        await producer.close();
        await db.destroy();
        await target.drop();
      }
    }
    if (sizes.length >= 2) {
      const [lo, hi] = [sizes[0], sizes[sizes.length - 1]];
      for (const row of rows.filter((r) => r.articles === hi)) {
        const ratio = medians.get(`${row.save}:${hi}`)! / medians.get(`${row.save}:${lo}`)!;
        row[`vs ${lo}`] = `${ratio.toFixed(2)}x ${ratio <= 1.25 ? 'met' : 'MISSED'}`;
      }
    }
    report('incremental-save', 'Incremental save, API answer to journal entry (`npm run bench -- incremental`); target: largest within 1.25x of smallest', rows);
  } finally {
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
