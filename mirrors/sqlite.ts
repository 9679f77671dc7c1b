// The narrow slice of better-sqlite3 the mirror index uses. The package ships
// no type declarations and @types/better-sqlite3 is not a dependency, so the
// module is loaded through createRequire and typed here, in one place.
import { createRequire } from 'node:module';

export interface RunResult {
  changes: number;
}

export interface Statement<Row = unknown> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
  iterate(...params: unknown[]): IterableIterator<Row>;
}

export interface SqliteDatabase {
  prepare<Row = unknown>(sql: string): Statement<Row>;
  exec(sql: string): void;
  pragma(sql: string): unknown;
  transaction<Args extends unknown[], R>(fn: (...args: Args) => R): (...args: Args) => R;
  close(): void;
  readonly open: boolean;
}

type SqliteConstructor = new (filename: string, options?: { fileMustExist?: boolean }) => SqliteDatabase;

export function openSqlite(filename: string): SqliteDatabase {
  const Database = createRequire(__filename)('better-sqlite3') as SqliteConstructor;
  return new Database(filename);
}
