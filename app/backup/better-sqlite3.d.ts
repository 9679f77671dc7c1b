// The part of better-sqlite3 app/backup/embedded-backup.ts uses: the package
// ships no types (knex reaches it through its own client).
declare module 'better-sqlite3' {
  class Database {
    constructor(file: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number });
    /** SQLite's online backup API; `progress` returns how many pages the next step copies. */
    backup(
      file: string,
      options?: { progress?(p: { totalPages: number; remainingPages: number }): number | undefined },
    ): Promise<{ totalPages: number; remainingPages: number }>;
    pragma(source: string, options: { simple: true }): unknown;
    prepare(sql: string): { get(...params: unknown[]): unknown };
    close(): void;
  }
  export = Database;
}
