// A manifest being loaded (bootstrap, `mirror verify`): staged page by page in
// its own table, in bounded memory, then compared with the index or swapped
// into it in one transaction once every blob it names is on disk.
import { variantColumns } from '../common/content-coding';
import type { ManifestPage } from '../common/feed-format';
import { MissingBlobError, OutOfOrderBatchError, StaleEpochBatchError } from './errors';
import type { IndexStore } from './index-store';
import { addVariantColumns, type SqliteDatabase } from './sqlite';

/** Every blob the staged manifest names: bodies and their compressed variants (signed with the manifest). */
const STAGED_BLOBS = `SELECT sha256, size FROM manifest_stage
  UNION ALL SELECT gzip_sha256, gzip_size FROM manifest_stage WHERE gzip_sha256 IS NOT NULL
  UNION ALL SELECT br_sha256, br_size FROM manifest_stage WHERE br_sha256 IS NOT NULL`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS manifest_stage (
  path TEXT PRIMARY KEY,
  op TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  kind TEXT NOT NULL,
  seq INTEGER NOT NULL
);
`;

const VARIANTS = 'gzip_sha256, gzip_size, br_sha256, br_size';

export interface StageDiff {
  missing: number;
  differing: number;
  extra: number;
  examples: string[];
}

export class ManifestStaging {
  private readonly stageTx: (pages: ManifestPage[]) => void;
  private readonly commitTx: (epoch: number, cursor: number) => number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly index: IndexStore,
    private readonly hasBlob: (sha256: string) => boolean,
  ) {
    db.exec(SCHEMA);
    addVariantColumns(db, 'manifest_stage');
    const stagePage = db.prepare(
      `INSERT OR REPLACE INTO manifest_stage (path, op, sha256, size, content_type, last_modified, kind, seq,
         gzip_sha256, gzip_size, br_sha256, br_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.stageTx = db.transaction((pages: ManifestPage[]) => {
      for (const p of pages)
        stagePage.run(
          p.path,
          p.op,
          p.sha256,
          p.size,
          p.contentType,
          p.lastModified,
          p.kind,
          p.seq,
          ...Object.values(variantColumns(p.variants)),
        );
    });
    this.commitTx = db.transaction((epoch: number, cursor: number) => this.commitInTransaction(epoch, cursor));
  }

  /** Starts staging a manifest (bootstrap or verify): forgets any earlier, unfinished one. */
  clear(): void {
    this.db.exec('DELETE FROM manifest_stage');
  }

  stage(pages: ManifestPage[]): void {
    this.stageTx(pages);
  }

  /** Distinct blobs the staged manifest names that are not on disk, `limit` at a time. */
  missingBlobs(limit: number, afterSha = ''): { sha256: string; size: number }[] {
    const out: { sha256: string; size: number }[] = [];
    let last = afterSha;
    for (;;) {
      const rows = this.db
        .prepare<{ sha256: string; size: number }>(
          `SELECT sha256, MAX(size) AS size FROM (${STAGED_BLOBS}) WHERE sha256 > ? GROUP BY sha256 ORDER BY sha256 LIMIT 1000`,
        )
        .all(last);
      if (rows.length === 0) return out;
      for (const r of rows) if (!this.hasBlob(r.sha256)) out.push(r);
      last = rows[rows.length - 1].sha256;
      if (out.length >= limit) return out;
    }
  }

  /**
   * Makes the index exactly the staged manifest and moves the cursor to the
   * manifest's, in one transaction, if every blob is on disk and the
   * manifest is not older than what is applied. Returns how many paths changed.
   */
  commit(epoch: number, cursor: number): number {
    return this.commitTx(epoch, cursor);
  }

  // Set-wise SQL over the index's `pages` table: a 100,000-page manifest is
  // swapped in by two statements, not a round trip per page.
  private commitInTransaction(epoch: number, cursor: number): number {
    const state = this.index.state();
    if (epoch < state.epoch) throw new StaleEpochBatchError(epoch, state.epoch);
    if (cursor < state.cursor) throw new OutOfOrderBatchError(cursor + 1, state.cursor);
    for (const row of this.db.prepare<{ sha256: string }>(`SELECT DISTINCT sha256 FROM (${STAGED_BLOBS})`).iterate()) {
      if (!this.hasBlob(row.sha256)) throw new MissingBlobError(row.sha256);
    }
    const changed = this.db
      .prepare('DELETE FROM pages WHERE path NOT IN (SELECT path FROM manifest_stage)')
      .run().changes;
    const upserted = this.db
      .prepare(
        `INSERT INTO pages (path, op, sha256, size, content_type, last_modified, kind, seq, ${VARIANTS})
         SELECT path, op, sha256, size, content_type, last_modified, kind, seq, ${VARIANTS} FROM manifest_stage WHERE true
         ON CONFLICT (path) DO UPDATE SET op = excluded.op, sha256 = excluded.sha256, size = excluded.size,
           content_type = excluded.content_type, last_modified = excluded.last_modified, kind = excluded.kind, seq = excluded.seq,
           gzip_sha256 = excluded.gzip_sha256, gzip_size = excluded.gzip_size, br_sha256 = excluded.br_sha256, br_size = excluded.br_size
         WHERE pages.op IS NOT excluded.op OR pages.sha256 IS NOT excluded.sha256 OR pages.size IS NOT excluded.size
           OR pages.content_type IS NOT excluded.content_type OR pages.last_modified IS NOT excluded.last_modified
           OR pages.kind IS NOT excluded.kind OR pages.gzip_sha256 IS NOT excluded.gzip_sha256
           OR pages.br_sha256 IS NOT excluded.br_sha256`,
      )
      .run().changes;
    this.index.setState(cursor, epoch);
    this.db.exec('DELETE FROM manifest_stage');
    return changed + upserted;
  }

  /** How the staged manifest differs from the index: paths missing here, different here, or here but not there. */
  diff(limit = 20): StageDiff {
    const count = (sql: string) => this.db.prepare<{ n: number }>(sql).get()?.n ?? 0;
    const missing = count(
      'SELECT COUNT(*) AS n FROM manifest_stage s WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.path = s.path)',
    );
    const differing = count(
      `SELECT COUNT(*) AS n FROM manifest_stage s JOIN pages p ON p.path = s.path
       WHERE p.op IS NOT s.op OR p.sha256 IS NOT s.sha256 OR p.kind IS NOT s.kind OR p.content_type IS NOT s.content_type OR p.last_modified IS NOT s.last_modified`,
    );
    const extra = count(
      'SELECT COUNT(*) AS n FROM pages p WHERE NOT EXISTS (SELECT 1 FROM manifest_stage s WHERE s.path = p.path)',
    );
    const examples = this.db
      .prepare<{ path: string }>(
        `SELECT s.path FROM manifest_stage s LEFT JOIN pages p ON p.path = s.path WHERE p.path IS NULL OR p.sha256 IS NOT s.sha256 OR p.op IS NOT s.op
         UNION ALL SELECT p.path FROM pages p WHERE NOT EXISTS (SELECT 1 FROM manifest_stage s WHERE s.path = p.path) LIMIT ?`,
      )
      .all(limit)
      .map((r) => r.path);
    return { missing, differing, extra, examples };
  }
}
