// `hyperstatic`: one CLI that starts any process and runs every operator
// command. Configuration comes from environment variables (each command's
// --help lists those it reads, `hyperstatic help env` all of them); flags set
// the same variables for one run.
import { Command, CommanderError } from 'commander';
import { describeVariables, loadConfig } from '../common/config';
import {
  configFrom,
  describeFailure,
  runUntilSignal,
  stopQuietlyOnClosedPipes,
  wantsJson,
  withDatabase,
} from './cli-support';
import { variablesOf } from './command-variables';
import { startingAs } from './startup-errors';
import * as rebuildCommands from './commands/rebuild';
import * as fixturesCommands from './commands/fixtures';
import * as keysCommands from './commands/keys';
import * as mirrorCommands from './commands/mirror';
import * as bundleCommands from './commands/bundle';
import * as dbCommands from './commands/db';
import * as dbDivergedCommands from './commands/db-diverged';
import * as statusCommands from './commands/status';
import * as userCommands from './commands/user';
import * as purgeCommands from './commands/purge';
import * as backupCommands from './commands/backup';
import * as mirrorsCommands from './commands/mirrors';
import * as mediaCommands from './commands/media';

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
    "\nConfiguration comes from environment variables: `hyperstatic help env` lists them all, and each command's --help those it reads.\n",
  )
  .exitOverride();

program
  .command('env', { hidden: true })
  .description('Every environment variable, with its default and meaning (also: hyperstatic help env)')
  .addHelpText(
    'after',
    `\nEnvironment variables (flags of a command override them for that run):\n${describeVariables()}\n`,
  )
  .action(() => {
    process.stdout.write(`${describeVariables()}\n`);
  });

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
      const embedded = await startingAs('embedded site', config, () => startEmbedded(config));
      const { writeAfterLogs } = require('../common/logger') as typeof import('../common/logger');
      writeAfterLogs(embedded.banner);
      return [embedded];
    });
  });

program
  .command('app')
  .description(
    'The origin app: JSON API, change feed and outbox relay (needs DATABASE_URL and REDIS_URL or REDIS_SENTINELS)',
  )
  .option('--port <port>', 'sets APP_PORT')
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'APP_PORT' });
    const { startApp } = require('../app/main') as typeof import('../app/main');
    const { pagePreviewFor } = require('../producer/preview-page') as typeof import('../producer/preview-page');
    const preview = pagePreviewFor(config);
    await runUntilSignal(async () => [await startingAs('origin app', config, () => startApp(config, { preview }))]);
  });

program
  .command('producer')
  .description(
    'A render worker: consumes render jobs from bull and writes pages and journal entries (needs DATABASE_URL and REDIS_URL or REDIS_SENTINELS)',
  )
  .option('--port <port>', 'sets PRODUCER_PORT (for /healthz, /readyz, /metrics)')
  .option('--concurrency <n>', 'sets PRODUCER_CONCURRENCY')
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'PRODUCER_PORT', concurrency: 'PRODUCER_CONCURRENCY' });
    const { startProducer } = require('../producer/main') as typeof import('../producer/main');
    await runUntilSignal(async () => [
      await startingAs('producer', config, () => startProducer(config, { opsPort: config.producerPort })),
    ]);
  });

program
  .command('mirror')
  .description("A mirror: follows the origin's change feed, fetches and verifies blobs, serves the static copy")
  .option('--port <port>', 'sets MIRROR_PORT')
  .option('--origin <urls>', 'sets MIRROR_ORIGIN_URLS (comma-separated)')
  .option('--data-dir <dir>', 'sets MIRROR_DATA_DIR')
  .option(
    '--from-bundle <path>',
    'verify this `bundle export` directory offline, take the copy from it, then follow the feed from its cursor',
  )
  .action(async (flags) => {
    const config = configFrom(flags, { port: 'MIRROR_PORT', origin: 'MIRROR_ORIGIN_URLS', dataDir: 'MIRROR_DATA_DIR' });
    const { startMirror } = require('../mirrors/main') as typeof import('../mirrors/main');
    const fromBundle = (flags as { fromBundle?: string }).fromBundle;
    await runUntilSignal(async () => [await startingAs('mirror', config, () => startMirror(config, { fromBundle }))]);
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
    await runUntilSignal(async () => [await startingAs('cache proxy', config, () => startProxyCluster(config))]);
  });

const token = program.command('token').description('API tokens');
token
  .command('create')
  .description('Create an API token for a user and print it alone on stdout (it is shown only once)')
  .requiredOption('--user <name>', 'user the token acts as')
  .option('--label <text>', 'a note to recognise the token by', '')
  .action(async (flags: { user: string; label: string }) => {
    // Audited like the editor's (a row, and a log line on stderr: stdout holds the token alone).
    const { createTokenAudited } = require('./commands/user') as typeof import('./commands/user');
    process.stdout.write(`${await createTokenAudited(flags.user, flags.label)}\n`);
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
dbDivergedCommands.register(program);
statusCommands.register(program);
userCommands.register(program);
purgeCommands.register(program);
backupCommands.register(program);
mirrorsCommands.register(program);
bundleCommands.register(program);
mediaCommands.register(program);

/** Each command's --help lists the variables it reads; a group's points to `help env`. */
function addVariablesToHelp(command: Command, path: string[] = []): void {
  for (const sub of command.commands) {
    const at = [...path, sub.name()];
    const names = sub.commands.length === 0 ? variablesOf(at) : undefined;
    const pointer = '`hyperstatic help env` lists every variable';
    if (names === undefined) sub.addHelpText('after', `\nConfiguration: ${pointer}.\n`);
    else if (names.length === 0)
      sub.addHelpText('after', `\nThis command reads no environment variable (${pointer}).\n`);
    else sub.addHelpText('after', `\nEnvironment variables it reads (${pointer}):\n${describeVariables(names)}\n`);
    addVariablesToHelp(sub, at);
  }
}

/** With --json, commander's own messages are left out: the error is printed once, as JSON, on stdout. */
function silenceCommanderErrors(command: Command): void {
  command.configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  for (const sub of command.commands) silenceCommanderErrors(sub);
}

async function main(): Promise<void> {
  stopQuietlyOnClosedPipes();
  addVariablesToHelp(program);
  const json = wantsJson(process.argv.slice(2));
  if (json) silenceCommanderErrors(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
    const failure = describeFailure(error, json);
    // Commander has already printed its own message (and the help) in text mode.
    if (json) process.stdout.write(failure.text);
    else if (!(error instanceof CommanderError)) process.stderr.write(failure.text);
    process.exit(failure.exitCode);
  }
}

void main();
