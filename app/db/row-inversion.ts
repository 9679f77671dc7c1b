// The statements that undo row changes, from the binlog's full row images
// (binlog_format=ROW, binlog_row_image=FULL): newest change first, an insert
// deleted, a delete inserted again, an update set back to its before image.
// It is what MariaDB's `mariadb-binlog --flashback` does, done here because
// flashback (10.11) silently skips a statement that wrote several row events,
// such as the producer's `INSERT … ON DUPLICATE KEY UPDATE` of pages, which
// logs a Write_rows and an Update_rows event for one statement: the undone
// node kept the page rows and the primary's later insert of the same path
// stopped replication with a duplicate key. Pure: rejoin.ts runs the result.
import { binlogBytes, type BinlogTransaction, type BinlogValue } from './binlog-rows';

export interface Statement {
  sql: string;
  params: (Buffer | string | null)[];
}

export interface TableShape {
  /** Column names in ordinal order. */
  columns: readonly string[];
  /** Primary key columns; empty when the table has none (every column then identifies the row). */
  primaryKey: readonly string[];
}

const id = (name: string) => `\`${name.replace(/`/g, '``')}\``;

function param(value: BinlogValue | undefined): Buffer | string | null {
  return value === null || value === undefined ? null : binlogBytes(value);
}

/** `a = ? AND b <=> ?` over the key columns (all columns without a key), values from `image`. */
function where(shape: TableShape, image: Map<number, BinlogValue>): Statement {
  const keys = shape.primaryKey.length > 0 ? shape.primaryKey : shape.columns;
  const parts: string[] = [];
  const params: Statement['params'] = [];
  for (const key of keys) {
    const position = shape.columns.indexOf(key) + 1;
    parts.push(`${id(key)} <=> ?`);
    params.push(param(image.get(position)));
  }
  return { sql: parts.join(' AND '), params };
}

/**
 * Statements undoing `transactions` (oldest first as given), for the tables
 * in `shapes` keyed by `db.table`. Throws naming a table it does not know
 * or a change without its images: nothing is undone then.
 */
export function inversion(
  transactions: readonly BinlogTransaction[],
  shapes: ReadonlyMap<string, TableShape>,
): Statement[] {
  const out: Statement[] = [];
  for (const tx of [...transactions].reverse()) {
    if (tx.ddl) throw new Error(`${tx.gtid} is a schema change; the binlog cannot undo it`);
    for (const row of [...tx.rows].reverse()) {
      const shape = shapes.get(row.table);
      if (!shape) throw new Error(`${tx.gtid} changed ${row.table}, whose columns are unknown`);
      const [db, table] = row.table.split('.');
      const target = `${id(db)}.${id(table)}`;
      const image = row.op === 'insert' ? row.after : row.before;
      if (!image || (row.op === 'update' && !row.after))
        throw new Error(
          `${tx.gtid}: a ${row.op} in ${row.table} without its row images (binlog_row_image must be FULL)`,
        );
      if (row.op === 'insert') {
        const w = where(shape, image);
        out.push({ sql: `DELETE FROM ${target} WHERE ${w.sql} LIMIT 1`, params: w.params });
      } else if (row.op === 'delete') {
        const positions = [...image.keys()].sort((a, b) => a - b);
        out.push({
          sql: `INSERT INTO ${target} (${positions.map((p) => id(shape.columns[p - 1])).join(', ')}) VALUES (${positions.map(() => '?').join(', ')})`,
          params: positions.map((p) => param(image.get(p))),
        });
      } else {
        const w = where(shape, row.after!);
        const positions = [...image.keys()].sort((a, b) => a - b);
        out.push({
          sql: `UPDATE ${target} SET ${positions.map((p) => `${id(shape.columns[p - 1])} = ?`).join(', ')} WHERE ${w.sql} LIMIT 1`,
          params: [...positions.map((p) => param(image.get(p))), ...w.params],
        });
      }
    }
  }
  return out;
}
