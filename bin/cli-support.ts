// Helpers every CLI command uses: flags to configuration, run-until-signal,
// a database handle for one-shot commands.
import { Config, loadConfig } from '../common/config';
import { createDatabase, Database } from '../common/db/database';
import type { RunningService } from '../common/lifecycle';

/** Sets environment variables from flags, then loads and validates the configuration. */
export function configFrom(flags: Record<string, string | undefined>, mapping: Record<string, string>): Config {
  for (const [flag, variable] of Object.entries(mapping)) {
    if (flags[flag] !== undefined) process.env[variable] = flags[flag];
  }
  return loadConfig();
}

/** Runs until SIGINT/SIGTERM, then closes every service in reverse start order. */
export async function runUntilSignal(start: () => Promise<RunningService[]>): Promise<void> {
  const services = await start();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write('\nstopping…\n');
  const forced = setTimeout(() => {
    process.stderr.write('hyperstatic: shutdown took longer than 15 s; exiting anyway\n');
    process.exit(1);
  }, 15_000);
  forced.unref();
  for (const service of [...services].reverse()) await service.close();
}

/**
 * knex's own pool warnings ("Acquire connection error" and a stack) would
 * repeat what the command's error line says; one-shot commands keep only that line.
 */
const QUIET_KNEX = {
  warn: () => undefined,
  debug: () => undefined,
  deprecate: () => undefined,
  error: (message: string) => process.stderr.write(`hyperstatic: database: ${message}\n`),
};

export async function withDatabase<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = createDatabase(config.databaseUrl, { log: QUIET_KNEX });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}
