// What `mariadb-binlog --base64-output=DECODE-ROWS -vv` prints, as plain data:
// one entry per transaction (its GTID, when it was written, whether it was a
// schema change) with the row images it wrote. Pure, so the reading of
// diverged transactions (diverged.ts) is tested without a server.

/** A column value as the binlog printed it (binlogBytes, binlogText read it), or null for NULL. */
export type BinlogValue = string | null;

export interface RowChange {
  /** `db.table` */
  table: string;
  op: 'insert' | 'update' | 'delete';
  /** Column values by ordinal position (1-based), before the change (update, delete). */
  before?: Map<number, BinlogValue>;
  /** Column values by ordinal position (1-based), after the change (insert, update). */
  after?: Map<number, BinlogValue>;
}

export interface BinlogTransaction {
  gtid: string;
  /** When the event was written, ms since the epoch, to the second (the binlog keeps seconds): a lower bound. */
  at: number;
  /** A statement-based schema change (CREATE, ALTER, DROP…): it has no row images and cannot be undone from the binlog. */
  ddl: boolean;
  rows: RowChange[];
}

// "#261207  6:15:30 server id 1  end_log_pos 1956 CRC32 0x662e1e78 \tGTID 0-1-9 trans"
const GTID_HEADER = /^#(\d{2})(\d{2})(\d{2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+server id \d+.*\tGTID (\d+-\d+-\d+)(.*)$/;
const ROW_START = /^### (INSERT INTO|UPDATE|DELETE FROM) `([^`]+)`\.`([^`]+)`$/;
const COLUMN = /^###\s+@(\d+)=(.*)$/;

/** A column as printed, without -vv's type comment ("@2='x' /* VARSTRING(400) meta=400 nullable=1 is_null=0 *\/"). */
function printedValue(raw: string): BinlogValue {
  const typeComment = raw.lastIndexOf(' /* ');
  const text = typeComment >= 0 ? raw.slice(0, typeComment) : raw;
  return text === 'NULL' ? null : text;
}

/**
 * A printed value as the bytes or number it stands for. The output is read
 * one character per byte (latin1: mariadb-binlog prints a string's bytes
 * as they are, UTF-8 or not). A string is quoted, its quotes inside are not
 * escaped and control bytes are \xNN (a literal backslash followed by x and two hex digits in the data
 * reads as that byte: the one ambiguity of this format); an unsigned integer
 * past the signed range prints as "-1 (18446744073709551615)".
 */
export function binlogBytes(value: string): Buffer | string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
    const inner = value.slice(1, -1);
    const bytes: number[] = [];
    for (let i = 0; i < inner.length; i++) {
      const hex = /^\\x([0-9a-fA-F]{2})/.exec(inner.slice(i, i + 4));
      if (hex) {
        bytes.push(parseInt(hex[1], 16));
        i += 3;
      } else bytes.push(inner.charCodeAt(i) & 0xff);
    }
    return Buffer.from(bytes);
  }
  const unsigned = /^-\d+ \((\d+)\)$/.exec(value);
  return unsigned ? unsigned[1] : value;
}

/** A printed value as text (strings decoded as UTF-8), for naming what changed. */
export function binlogText(value: BinlogValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  const v = binlogBytes(value);
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** Parses the whole output; events outside a GTID-started transaction are ignored. */
export function parseVerboseBinlog(text: string): BinlogTransaction[] {
  const out: BinlogTransaction[] = [];
  let current: BinlogTransaction | undefined;
  let row: RowChange | undefined;
  let image: Map<number, BinlogValue> | undefined;
  for (const line of text.split('\n')) {
    const header = GTID_HEADER.exec(line);
    if (header) {
      const [, yy, mm, dd, h, m, s, gtid, flags] = header;
      const at = Date.UTC(2000 + Number(yy), Number(mm) - 1, Number(dd), Number(h), Number(m), Number(s));
      current = { gtid, at, ddl: /\bddl\b/.test(flags), rows: [] };
      out.push(current);
      row = undefined;
      continue;
    }
    if (!current) continue;
    const start = ROW_START.exec(line);
    if (start) {
      const op = start[1] === 'INSERT INTO' ? 'insert' : start[1] === 'UPDATE' ? 'update' : 'delete';
      row = { table: `${start[2]}.${start[3]}`, op };
      current.rows.push(row);
      image = undefined;
      continue;
    }
    if (!row) continue;
    if (line === '### SET') {
      row.after = image = new Map();
    } else if (line === '### WHERE') {
      row.before = image = new Map();
    } else {
      const column = COLUMN.exec(line);
      if (column && image) image.set(Number(column[1]), printedValue(column[2]));
      else if (!line.startsWith('###')) row = undefined;
    }
  }
  return out;
}
