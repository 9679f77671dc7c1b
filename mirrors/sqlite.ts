// The narrow slice of better-sqlite3 the mirror index uses. The package ships
// no type declarations and @types/better-sqlite3 is not a dependency, so the
// module is loaded through createRequire and typed here, in one place.
import { createRequire } from 'node:module';
import { VARIANT_COLUMNS } from '../common/content-coding';

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

/**
 * The columns naming a page's compressed variants (common/content-coding.ts),
 * added to a table of a mirror created before they existed: its pages then
 * have none and are served as they are until the origin sends them again.
 */
export function addVariantColumns(db: SqliteDatabase, table: string): void {
  const columns = db.prepare<{ name: string }>(`PRAGMA table_info(${table})`).all();
  for (const column of VARIANT_COLUMNS)
    if (!columns.some((c) => c.name === column))
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${column.endsWith('_size') ? 'INTEGER' : 'TEXT'}`);
}
