// Helpers every CLI command uses: flags to configuration, run-until-signal,
// a database handle for one-shot commands, closed pipes and errors.
import { CommanderError } from 'commander';
import { Config, ConfigError, loadConfig } from '../common/config';
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
export const QUIET_KNEX = {
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

/**
 * `hyperstatic --help | head -1`: once the reader has gone, what is left to
 * write has nowhere to go. Node reports that as an unhandled EPIPE with a stack
 * trace; the shell convention is to stop quietly.
 */
export function stopQuietlyOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/** True when the command line asks for JSON (before any `--`): its errors are JSON too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** How a failed command is reported: the exit code, and one line of text or one JSON object. */
export function describeFailure(error: unknown, json: boolean): { exitCode: number; text: string } {
  const e = error as { message?: string; code?: unknown; variable?: string };
  const code = typeof e.code === 'string' ? e.code : 'HS_FAILED';
  const exitCode = error instanceof CommanderError ? error.exitCode : error instanceof ConfigError ? 2 : 1;
  const message = (e.message ?? String(error)).replace(/^error: /, '');
  if (json) {
    const variable = error instanceof ConfigError ? { variable: error.variable } : {};
    return { exitCode, text: `${JSON.stringify({ error: { code, message, ...variable } })}\n` };
  }
  if (error instanceof ConfigError) return { exitCode, text: `hyperstatic: configuration error: ${message}\n` };
  return { exitCode, text: `hyperstatic: ${message}${typeof e.code === 'string' ? ` (${e.code})` : ''}\n` };
}
