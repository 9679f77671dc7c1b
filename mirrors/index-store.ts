// The SQLite index of what each public path serves, and the cursor/epoch the
// mirror resumes the feed from.
//
// A batch's index changes land in one transaction, and only if every blob it
// names is already on disk (docs/mirrors.md, "Applying batches"): a reader
// never sees an index entry (or an index page) pointing at a page the mirror
// lacks.
import { variantColumns, variantsOfRow } from '../common/content-coding';
import type { FeedBatch, ManifestPage, Op, PageKind } from '../common/feed-format';
import { batchRefusal, blobsOf } from './batch-checks';
import { MissingBlobError } from './errors';
import type { FeedJournal } from './feed-journal';
import type { PurgedBlobs } from './purged-blobs';
import { addVariantColumns, openSqlite, type SqliteDatabase, type Statement } from './sqlite';

/** A live page as the mirror holds it: the same record the manifest carries. */
export type PageRecord = ManifestPage;

interface PageRow {
  path: string;
  op: Extract<Op, 'put' | 'gone'>;
  sha256: string;
  size: number;
  content_type: string;
  last_modified: number;
  kind: PageKind;
  seq: number;
  gzip_sha256: string | null;
  gzip_size: number | null;
  br_sha256: string | null;
  br_size: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pages (
  path TEXT PRIMARY KEY,
  op TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor INTEGER NOT NULL,
  epoch INTEGER NOT NULL
);
INSERT OR IGNORE INTO state (id, cursor, epoch) VALUES (1, 0, 0);
`;

/** Opens `index.sqlite` the way the mirror needs it: WAL, and a page cache that does not grow with the site. */
export function openIndexDatabase(file: string): SqliteDatabase {
  const db = openSqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // better-sqlite3 builds SQLite with a 16 MB page cache, which a 100,000-page bootstrap fills
  // (the index is ~35 MB). Lookups are by primary key and the OS caches the file anyway; 4 MB
  // keeps the mirror's memory from growing with the site.
  db.pragma('cache_size = -4000');
  return db;
}

export class IndexStore {
  private readonly getState: Statement<{ cursor: number; epoch: number }>;
  private readonly putState: Statement;
  private readonly getPage: Statement<PageRow>;
  private readonly upsertPage: Statement;
  private readonly deletePage: Statement;
  private readonly applyTx: (batch: FeedBatch) => string[];

  constructor(
    private readonly db: SqliteDatabase,
    private readonly journal: FeedJournal,
    private readonly purges: PurgedBlobs,
    private readonly hasBlob: (sha256: string) => boolean,
  ) {
    db.exec(SCHEMA);
    addVariantColumns(db, 'pages');
    this.getState = db.prepare('SELECT cursor, epoch FROM state WHERE id = 1');
    this.putState = db.prepare('UPDATE state SET cursor = ?, epoch = ? WHERE id = 1');
    this.getPage = db.prepare('SELECT * FROM pages WHERE path = ?');
    this.upsertPage = db.prepare(
      `INSERT INTO pages (path, op, sha256, size, content_type, last_modified, kind, seq, gzip_sha256, gzip_size, br_sha256, br_size)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET op = excluded.op, sha256 = excluded.sha256, size = excluded.size,
         content_type = excluded.content_type, last_modified = excluded.last_modified, kind = excluded.kind, seq = excluded.seq,
         gzip_sha256 = excluded.gzip_sha256, gzip_size = excluded.gzip_size, br_sha256 = excluded.br_sha256, br_size = excluded.br_size`,
    );
    this.deletePage = db.prepare('DELETE FROM pages WHERE path = ?');
    this.applyTx = db.transaction((batch: FeedBatch) => this.applyInTransaction(batch));
  }

  state(): { cursor: number; epoch: number } {
    const row = this.getState.get();
    if (!row) throw new Error('mirror state row is missing');
    return row;
  }

  /** Moves the cursor; only inside a transaction that also brings the index up to it. */
  setState(cursor: number, epoch: number): void {
    this.putState.run(cursor, epoch);
  }

  /**
   * Applies a whole batch in one transaction; throws (changing nothing) on
   * refusal or a missing blob. Returns the blobs it purged that no path
   * serves: the caller removes their files once the transaction committed.
   */
  applyBatch(batch: FeedBatch): string[] {
    return this.applyTx(batch);
  }

  private applyInTransaction(batch: FeedBatch): string[] {
    const state = this.state();
    const refusal = batchRefusal(batch, state.cursor, state.epoch);
    if (refusal) throw refusal;
    for (const { sha256 } of blobsOf(batch)) if (!this.hasBlob(sha256)) throw new MissingBlobError(sha256);
    const purged: string[] = [];
    for (const e of batch.entries) {
      if (e.op === 'purge') purged.push(e.sha256 as string);
      else if (e.op === 'delete') this.deletePage.run(e.path);
      else
        this.upsertPage.run(
          e.path,
          e.op,
          e.sha256,
          e.size,
          e.contentType,
          e.lastModified,
          e.kind,
          e.seq,
          ...Object.values(variantColumns(e.variants)),
        );
    }
    // Before recording this batch: the cut keeps it, and with it the purge entries followers need.
    this.journal.scrub(purged);
    this.journal.record(batch);
    this.setState(batch.entries[batch.entries.length - 1].seq, batch.epoch);
    return this.purges.apply(batch);
  }

  lookup(publicPath: string): PageRecord | undefined {
    const row = this.getPage.get(publicPath);
    return row ? toPageRecord(row) : undefined;
  }

  /**
   * Every indexed page, in path order, read in keyset pages: no SQLite
   * statement stays open between pages (an open iterator would block the
   * connection, and with it applying batches).
   */
  *pages(): Generator<PageRecord> {
    const page = this.db.prepare<PageRow>('SELECT * FROM pages WHERE path > ? ORDER BY path LIMIT 1000');
    let last = '';
    for (;;) {
      const rows = page.all(last);
      for (const row of rows) yield toPageRecord(row);
      if (rows.length < 1000) return;
      last = rows[rows.length - 1].path;
    }
  }

  /** How many paths the index holds (live pages and tombstones). */
  pageCount(): number {
    return this.db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM pages').get()?.n ?? 0;
  }
}

function toPageRecord(row: PageRow): PageRecord {
  return {
    path: row.path,
    op: row.op,
    sha256: row.sha256,
    size: row.size,
    contentType: row.content_type,
    lastModified: row.last_modified,
    kind: row.kind,
    seq: row.seq,
    ...withVariants(row),
  };
}

function withVariants(row: PageRow): Pick<PageRecord, 'variants'> {
  const variants = variantsOfRow(row as unknown as Record<string, unknown>);
  return variants ? { variants } : {};
}
