// Multi-row INSERTs for the producer's bulk writes: blobs, pages, journal
// entries and listing rows. On MySQL/MariaDB they go as prepared statements
// over mysql2's binary protocol, so values travel as bytes instead of as
// escaped SQL text. Blob bodies spelled out in hex cost a full rebuild more
// CPU than rendering; for pages, journal entries and listing rows, knex's
// statement building, escaping and the UTF-8 encoding of the text cost a
// cold 10k rebuild ~300 ms of main-thread time. Row counts are split into
// powers of two, so a connection prepares only a handful of statements per
// table.
import type { Knex } from 'knex';
import { dialectOf } from '../common/db/database';

/**
 * What a row whose `key` exists already does: keep the stored row, or
 * overwrite these columns with its own. On MySQL/MariaDB (INSERT IGNORE,
 * ON DUPLICATE KEY UPDATE) any unique key of the table counts, not only
 * `key`: give it the table's only unique key, or its primary key.
 */
export type OnDuplicate = { key: string[]; ignore: true } | { key: string[]; update: string[] };

/** Keeps one statement well under max_allowed_packet (16 MB by default). */
const MAX_STATEMENT_BYTES = 1024 * 1024;
const MAX_ROWS = 256;
/** The protocol counts placeholders in 16 bits. */
const MAX_PARAMETERS = 32_768;
/** Knex's SQLite path: well under SQLite's host-parameter limit. */
const SQLITE_ROWS = 400;

type Row = Record<string, unknown>;

interface PreparedConnection {
  execute(sql: string, values: unknown[], callback: (error: Error | null) => void): void;
}

/** Inserts `rows` (all with the same keys) into `table` in `trx`, an open transaction. */
export async function insertRows(
  trx: Knex.Transaction,
  table: string,
  rows: Row[],
  onDuplicate?: OnDuplicate,
): Promise<void> {
  if (rows.length === 0) return;
  // The statements below bypass knex's query builder, and with it knex's own checks.
  if (!trx.isTransaction)
    throw new Error(`insertRows(${table}) needs a transaction: its statements run on the transaction's connection`);
  const columns = Object.keys(rows[0]);
  for (const [i, row] of rows.entries()) {
    const keys = Object.keys(row);
    if (keys.length !== columns.length || keys.some((k) => !(k in rows[0]))) {
      throw new Error(`insertRows(${table}): row ${i} has columns ${keys.join(', ')}, row 0 has ${columns.join(', ')}`);
    }
  }
  if (dialectOf(trx) !== 'mysql') {
    for (let i = 0; i < rows.length; i += SQLITE_ROWS) {
      const q = trx(table).insert(rows.slice(i, i + SQLITE_ROWS));
      if (!onDuplicate) await q;
      else if ('ignore' in onDuplicate) await q.onConflict(onDuplicate.key).ignore();
      else await q.onConflict(onDuplicate.key).merge(onDuplicate.update);
    }
    return;
  }
  const rowLimit = Math.min(MAX_ROWS, Math.floor(MAX_PARAMETERS / columns.length));
  // Within a transaction knex hands out the transaction's own connection.
  const connection = (await (
    trx.client as { acquireConnection(): Promise<unknown> }
  ).acquireConnection()) as PreparedConnection;
  for (let start = 0; start < rows.length;) {
    let count = 0;
    let bytes = 0;
    while (start + count < rows.length && count < rowLimit) {
      const size = sizeOf(rows[start + count], columns);
      if (count > 0 && bytes + size > MAX_STATEMENT_BYTES) break;
      bytes += size;
      count += 1;
    }
    // The largest power of two that fits: the rest starts the next statement.
    let rowsNow = 1;
    while (rowsNow * 2 <= count) rowsNow *= 2;
    const values: unknown[] = [];
    for (let i = start; i < start + rowsNow; i++) for (const c of columns) values.push(rows[i][c]);
    start += rowsNow;
    const sql = statement(table, columns, rowsNow, onDuplicate);
    if (trx.isCompleted()) throw new Error(`insertRows(${table}): the transaction has already ended`);
    await new Promise<void>((resolve, reject) =>
      connection.execute(sql, values, (error) => (error ? reject(error) : resolve())),
    );
  }
}

/** Upper bound of a row's bytes on the wire (a UTF-16 unit is at most 3 bytes of UTF-8). */
function sizeOf(row: Row, columns: string[]): number {
  let size = 0;
  for (const c of columns) {
    const v = row[c];
    size += typeof v === 'string' ? v.length * 3 + 9 : Buffer.isBuffer(v) ? v.length + 9 : 9;
  }
  return size;
}

const statements = new Map<string, string>();

function statement(table: string, columns: string[], rows: number, onDuplicate?: OnDuplicate): string {
  const key = `${table}\u0000${columns.join(',')}\u0000${rows}\u0000${JSON.stringify(onDuplicate ?? null)}`;
  let sql = statements.get(key);
  if (sql === undefined) {
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const ignore = onDuplicate && 'ignore' in onDuplicate ? ' ignore' : '';
    const update =
      onDuplicate && 'update' in onDuplicate
        ? ` on duplicate key update ${onDuplicate.update.map((c) => `\`${c}\` = values(\`${c}\`)`).join(', ')}`
        : '';
    sql = `insert${ignore} into \`${table}\` (${columns.map((c) => `\`${c}\``).join(', ')}) values ${Array.from({ length: rows }, () => tuple).join(', ')}${update}`;
    statements.set(key, sql);
  }
  return sql;
}
