// `hyperstatic fixtures generate`: fill the database with a large,
// realistic site for benchmarks and load tests.
import type { Command } from 'commander';
import { loadConfig } from '../../common/config';
import { withDatabase } from '../cli-support';

export function register(program: Command): void {
  const fixtures = program.command('fixtures').description('Sample and generated content');
  fixtures
    .command('generate')
    .description(
      'Insert N articles (and N/20 events) with sections, tags and authors, in batches; then run `hyperstatic rebuild` to render them',
    )
    .requiredOption('--articles <n>', 'how many articles')
    .option('--events <n>', 'how many events (default: articles / 20)')
    .option('--seed <n>', 'random seed (same seed, same site)', '1')
    .action(async (flags: { articles: string; events?: string; seed: string }) => {
      const count = (raw: string, name: string) => {
        if (!/^\d+$/.test(raw) || Number(raw) > 10_000_000)
          throw new Error(`--${name} must be a whole number from 0 to 10000000, got ${JSON.stringify(raw)}`);
        return Number(raw);
      };
      const articles = count(flags.articles, 'articles');
      const events = flags.events === undefined ? undefined : count(flags.events, 'events');
      const seed = count(flags.seed, 'seed');
      const config = loadConfig();
      const { migrateLatest } = require('../../app/db/migrate') as typeof import('../../app/db/migrate');
      const { generateSite } = require('../../fixtures/generate') as typeof import('../../fixtures/generate');
      const started = Date.now();
      const result = await withDatabase(config, async (db) => {
        await migrateLatest(db);
        return generateSite(db, {
          articles,
          events,
          seed,
          onProgress: (done, total) => {
            if (done % 10_000 === 0 || done === total) process.stderr.write(`generated ${done}/${total} articles\n`);
          },
        });
      });
      process.stdout.write(
        `generated ${result.articles} articles and ${result.events} events in ${((Date.now() - started) / 1000).toFixed(1)} s; run \`hyperstatic rebuild\` to render them\n`,
      );
    });
}
