// The knex factory used by every process that talks to the database:
// MariaDB/MySQL (mysql2) in production, SQLite (better-sqlite3) embedded.
import type { Knex } from 'knex';
import { secureSqliteFiles } from './sqlite-files';

/**
 * knex (with lodash: ~330 modules) loads when a database is first made, not
 * when this file is imported: common/config.ts imports parseNodeList from
 * here, so every command and process would pay for it at start, and `db
 * status` / `db promote` (mysql2 only) are on the clock in a failover
 * (docs/benchmarks.md, "Time to write after a failover").
 */
function knex(config: Knex.Config): Knex {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('knex') as typeof import('knex'))(config);
}

export type Database = Knex;
export type Dialect = 'mysql' | 'sqlite';

/** One database server of a replicated cluster (DATABASE_NODES). */
export interface NodeSpec {
  readonly name: string;
  /** App-user URL, mysql://user:pass@host:port/db. */
  readonly url: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Parses DATABASE_NODES ("name=mysql://…,name2=mysql://…"); throws naming the bad item. */
export function parseNodeList(raw: string): NodeSpec[] {
  const nodes: NodeSpec[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`expected name=mysql://user:pass@host:port/db, got ${JSON.stringify(item)}`);
    const name = item.slice(0, eq);
    const url = item.slice(eq + 1);
    if (!NAME.test(name))
      throw new Error(`node name ${JSON.stringify(name)} must start with a letter and use letters, digits, . _ -`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`node ${name}: ${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:')
      throw new Error(`node ${name}: expected a mysql:// URL, got ${parsed.protocol}`);
    if (parsed.pathname.length <= 1) throw new Error(`node ${name}: the URL must name a database`);
    if (nodes.some((n) => n.name === name)) throw new Error(`node ${name} is listed twice`);
    nodes.push({ name, url });
  }
  return nodes;
}

/**
 * The one place that tells MariaDB/MySQL from SQLite: from a DATABASE_URL, or
 * from a knex instance or transaction (its client is 'mysql2' or
 * 'better-sqlite3', see createDatabase below).
 */
export function dialectOf(databaseUrlOrDb: string | Knex): Dialect {
  if (typeof databaseUrlOrDb === 'string') return databaseUrlOrDb.startsWith('sqlite:') ? 'sqlite' : 'mysql';
  return String(databaseUrlOrDb.client.config.client).includes('sqlite') ? 'sqlite' : 'mysql';
}

/** Where knex's own warnings go (pool and connection errors); knex prints them to the console otherwise. */
export interface KnexLog {
  warn(message: string): void;
  error(message: string): void;
  deprecate(method: string, alternative: string): void;
  debug(message: string): void;
}

export interface DatabaseOptions {
  poolMax?: number;
  log?: KnexLog;
  /** Told when an embedded database's folder or file had to be made private (common/db/sqlite-files.ts). */
  logger?: { warn(fields: object, message: string): void };
}

export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  if (dialectOf(databaseUrl) === 'sqlite') {
    const filename = databaseUrl.slice('sqlite:'.length);
    if (filename !== ':memory:')
      for (const t of secureSqliteFiles(filename)) {
        const message = `made ${t.path} private to its owner (mode ${t.from} -> ${t.to})`;
        if (options.logger) options.logger.warn({ path: t.path, from: t.from, to: t.to }, message);
        else options.log?.warn(message);
      }
    return knex({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      // One connection: SQLite serializes writers anyway, and one handle keeps
      // transactions from waiting on each other's file locks.
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    });
  }
  const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
  return knex({
    client: 'mysql2',
    connection: {
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
      charset: 'utf8mb4',
      supportBigNumbers: true,
      connectTimeout: 5000,
    },
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 10_000,
    ...(options.log ? { log: options.log } : {}),
  });
}
