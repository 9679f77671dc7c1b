// `hyperstatic`: one CLI that starts any process and runs every operator
// command. Configuration comes from environment variables (listed by
// --help); flags set the same variables for one run.
import { Command, CommanderError } from 'commander';
import { ConfigError, describeVariables, loadConfig } from '../common/config';
import { configFrom, runUntilSignal, withDatabase } from './cli-support';
import * as rebuildCommands from './commands/rebuild';
import * as fixturesCommands from './commands/fixtures';
import * as keysCommands from './commands/keys';
import * as mirrorCommands from './commands/mirror';
import * as dbCommands from './commands/db';
import * as statusCommands from './commands/status';
import * as userCommands from './commands/user';
import * as purgeCommands from './commands/purge';
import * as backupCommands from './commands/backup';

// Each action loads the modules it runs on demand (a typed require), so a
// mirror or a proxy does not carry the app's, the producer's and every other
// command's dependencies in its memory.

const program = new Command('hyperstatic')
  .description(
    'Hyperstatic: a news site that stays readable and publishable when servers fail, are flooded, or are taken away.',
  )
  .showHelpAfterError()
  .addHelpText(
    'after',
    `\nEnvironment variables (flags of a command override them for that run):\n${describeVariables()}\n`,
  )
  .exitOverride();

program
  .command('all')
  .description(
    'Embedded mode: app, producer, one mirror and one cache proxy in one process (SQLite and an in-process queue unless DATABASE_URL/REDIS_URL are set)',
  )
  .option('--data-dir <dir>', 'sets DATA_DIR')
  .option('--app-port <port>', 'sets APP_PORT')
  .option('--public-port <port>', 'sets PROXY_PORT')
  .option('--mirror-port <port>', 'sets MIRROR_PORT')
  .action(async (flags) => {
    const config = configFrom(flags, {
      dataDir: 'DATA_DIR',
      appPort: 'APP_PORT',
      publicPort: 'PROXY_PORT',
      mirrorPort: 'MIRROR_PORT',
    });
    await runUntilSignal(async () => {
      const { startEmbedded } = require('./embedded') as typeof import('./embedded');
      const embedded = await startEmbedded(config);
      process.stdout.write(embedded.banner);
      return [embedded];
    });
  });

program
  .command('app')
  .description('The origin app: JSON API, change feed and outbox relay (needs DATABASE_URL and REDIS_URL)')
  .option('--port <port>', 'sets APP_PORT')
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'APP_PORT' });
    const { startApp } = require('../app/main') as typeof import('../app/main');
    await runUntilSignal(async () => [await startApp(config)]);
  });

program
  .command('producer')
  .description(
    'A render worker: consumes render jobs from bull and writes pages and journal entries (needs DATABASE_URL and REDIS_URL)',
  )
  .option('--port <port>', 'sets PRODUCER_PORT (for /healthz, /readyz, /metrics)')
  .option('--concurrency <n>', 'sets PRODUCER_CONCURRENCY')
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'PRODUCER_PORT', concurrency: 'PRODUCER_CONCURRENCY' });
    const { startProducer } = require('../producer/main') as typeof import('../producer/main');
    await runUntilSignal(async () => [await startProducer(config, { opsPort: config.producerPort })]);
  });

program
  .command('mirror')
  .description("A mirror: follows the origin's change feed, fetches and verifies blobs, serves the static copy")
  .option('--port <port>', 'sets MIRROR_PORT')
  .option('--origin <urls>', 'sets MIRROR_ORIGIN_URLS (comma-separated)')
  .option('--data-dir <dir>', 'sets MIRROR_DATA_DIR')
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'MIRROR_PORT', origin: 'MIRROR_ORIGIN_URLS', dataDir: 'MIRROR_DATA_DIR' });
    const { startMirror } = require('../mirrors/main') as typeof import('../mirrors/main');
    await runUntilSignal(async () => [await startMirror(config)]);
  });

program
  .command('proxy')
  .description('A reverse-proxy cache in front of mirrors (or any HTTP origin)')
  .option('--port <port>', 'sets PROXY_PORT')
  .option('--upstream <urls>', 'sets PROXY_UPSTREAMS (comma-separated, nearest first)')
  .option('--workers <n>', 'sets PROXY_WORKERS (processes sharing the port)')
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'PROXY_PORT', upstream: 'PROXY_UPSTREAMS', workers: 'PROXY_WORKERS' });
    const { startProxyCluster } = require('../cache-proxy/cluster') as typeof import('../cache-proxy/cluster');
    await runUntilSignal(async () => [await startProxyCluster(config)]);
  });

const token = program.command('token').description('API tokens');
token
  .command('create')
  .description('Create an API token for a user and print it alone on stdout (it is shown only once)')
  .requiredOption('--user <name>', 'user the token acts as')
  .option('--label <text>', 'a note to recognise the token by', '')
  .action(async (flags: { user: string; label: string }) => {
    const config = loadConfig();
    const { createApiToken } = require('../app/auth/users') as typeof import('../app/auth/users');
    const value = await withDatabase(config, (database) => createApiToken(database, flags.user, flags.label));
    process.stdout.write(`${value}\n`);
  });

program
  .command('seed')
  .description('Load the sample site from fixtures/ (an admin user, sections, articles) unless it is already there')
  .action(async () => {
    const config = loadConfig();
    const { migrateLatest } = require('../app/db/migrate') as typeof import('../app/db/migrate');
    const { seedFixtures } = require('../fixtures/seed') as typeof import('../fixtures/seed');
    const result = await withDatabase(config, async (database) => {
      await migrateLatest(database);
      return seedFixtures(database);
    });
    if (!result.seeded) process.stdout.write('already seeded (user "admin" exists); nothing changed\n');
    else process.stdout.write(`seeded ${result.articles} articles; user "admin", password: ${result.adminPassword}\n`);
  });

// Each further command group lives in bin/commands/<group>.ts and exports
// register(program).
rebuildCommands.register(program);
fixturesCommands.register(program);
keysCommands.register(program);
mirrorCommands.register(program);
dbCommands.register(program);
statusCommands.register(program);
userCommands.register(program);
purgeCommands.register(program);
backupCommands.register(program);

/** Every command's --help lists the environment variables too. */
function addVariablesToHelp(command: Command): void {
  for (const sub of command.commands) {
    sub.addHelpText('after', `\nEnvironment variables:\n${describeVariables()}\n`);
    addVariablesToHelp(sub);
  }
}

async function main(): Promise<void> {
  addVariablesToHelp(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof ConfigError) {
      process.stderr.write(`hyperstatic: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    const e = error as { message?: string; code?: string };
    process.stderr.write(`hyperstatic: ${e.message ?? String(error)}${e.code ? ` (${e.code})` : ''}\n`);
    process.exit(1);
  }
}

void main();
