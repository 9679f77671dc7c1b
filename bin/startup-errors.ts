// A process that fails to start says which component failed and which
// variable to change, instead of a bare `connect ECONNREFUSED 127.0.0.1:3306`.
// The port clash is named where the socket is opened (common/listen.ts);
// this covers what the component reached for: the database, Redis, a folder.
import path from 'node:path';
import type { Config } from '../common/config';
import { ConfigError } from '../common/config';
import { HyperstaticError } from '../common/errors';

export class StartupError extends HyperstaticError {
  constructor(message: string, cause: unknown) {
    super('HS_STARTUP_FAILED', 500, message, { cause });
  }
}

interface SystemError {
  readonly message?: string;
  readonly code?: string;
  readonly address?: string;
  readonly port?: number;
  readonly path?: string;
}

/** Host and port of a URL, for matching a connection error against the configured services. */
function endpoint(url: string): { host: string; port: string } | undefined {
  try {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: parsed.port };
  } catch {
    return undefined;
  }
}

function sameEndpoint(error: SystemError, url: string, defaultPort: string): boolean {
  const target = endpoint(url);
  if (!target || error.port === undefined) return false;
  return String(error.port) === (target.port || defaultPort);
}

/** The variable an operator would change to fix `error`, when it can be told; pure. */
export function variableToChange(error: SystemError, config: Config): string | undefined {
  const code = error.code ?? '';
  if (code.startsWith('SQLITE_')) return 'DATABASE_URL (or DATA_DIR)';
  if (code.startsWith('ER_')) return config.databaseNodes.length > 0 ? 'DATABASE_NODES' : 'DATABASE_URL';
  if (error.port !== undefined) {
    if (config.redisUrl && sameEndpoint(error, config.redisUrl, '6379')) return 'REDIS_URL';
    const databases = [config.databaseUrl, ...config.databaseNodes.map((n) => n.url)];
    if (databases.some((url) => sameEndpoint(error, url, '3306')))
      return config.databaseNodes.length > 0 ? 'DATABASE_NODES' : 'DATABASE_URL';
  }
  if (error.path) {
    const file = path.resolve(error.path);
    const folders: [string, string][] = [
      [config.feedSigningKey, 'FEED_SIGNING_KEY'],
      [config.mirrorDataDir, 'MIRROR_DATA_DIR'],
      [config.mediaDir, 'MEDIA_DIR'],
      [config.dataDir, 'DATA_DIR'],
    ];
    for (const [folder, name] of folders) if (file === folder || file.startsWith(`${folder}${path.sep}`)) return name;
  }
  return undefined;
}

/** Runs a component's start; a failure that does not already name its variable is wrapped in one that does. */
export async function startingAs<T>(component: string, config: Config, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof HyperstaticError) throw error;
    const e = error as SystemError;
    const variable = variableToChange(e, config);
    const detail = `${e.message ?? String(error)}${e.code && !e.message?.includes(e.code) ? ` (${e.code})` : ''}`;
    throw new StartupError(
      `the ${component} could not start: ${detail}${variable ? `; check ${variable}` : ''}`,
      error,
    );
  }
}
