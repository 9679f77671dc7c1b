// Blobs a takedown purged (a `purge` entry of the feed, docs/mirrors.md,
// "Takedowns"): remembered in the index database so /blobs/SHA answers 404
// and the bytes are never served again, even if a stale copy or a peer's
// late transfer puts the file back. Only a later signed entry that names the
// same bytes as a page (the origin published them again) lifts it.
import type { FeedBatch } from '../common/feed-format';
import type { SqliteDatabase, Statement } from './sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS purged_blobs (
  sha256 TEXT PRIMARY KEY,
  seq INTEGER NOT NULL
);
`;

export class PurgedBlobs {
  private readonly insert: Statement;
  private readonly remove: Statement;
  private readonly get: Statement<{ seq: number }>;
  private referenced?: Statement<{ n: number }>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.insert = db.prepare('INSERT OR REPLACE INTO purged_blobs (sha256, seq) VALUES (?, ?)');
    this.remove = db.prepare('DELETE FROM purged_blobs WHERE sha256 = ?');
    this.get = db.prepare('SELECT seq FROM purged_blobs WHERE sha256 = ?');
  }

  has(sha256: string): boolean {
    return this.get.get(sha256) !== undefined;
  }

  /**
   * Applies a batch's purges and republications, inside the transaction that
   * applies its pages (so after them); returns the blobs whose files may go:
   * purged, and served by no path of this mirror's index.
   */
  apply(batch: FeedBatch): string[] {
    const drop: string[] = [];
    for (const e of batch.entries) {
      if (e.sha256 === null) continue;
      if (e.op !== 'purge') {
        this.remove.run(e.sha256);
        for (const v of Object.values(e.variants ?? {})) this.remove.run(v.sha256);
      } else {
        this.insert.run(e.sha256, e.seq);
        // Prepared on first use: the index's pages table is created after this one.
        this.referenced ??= this.db.prepare(
          'SELECT COUNT(*) AS n FROM pages WHERE ? IN (sha256, gzip_sha256, br_sha256)',
        );
        if ((this.referenced.get(e.sha256)?.n ?? 0) === 0) drop.push(e.sha256);
      }
    }
    return drop;
  }
}
