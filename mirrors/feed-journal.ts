// The journal of applied batches, with the origin's signature of each, so
// the mirror can serve /feed itself (feed-hub.ts): cache proxies and peer
// mirrors follow a mirror and verify what it relays against the origin key.
import { variantColumns, variantsOfRow } from '../common/content-coding';
import type { FeedBatch, JournalEntry, Op, PageKind } from '../common/feed-format';
import type { SiteSignature } from '../common/trust/statements';
import { addVariantColumns, type SqliteDatabase, type Statement } from './sqlite';

interface JournalRow {
  seq: number;
  epoch: number;
  batch: number;
  path: string;
  op: Op;
  sha256: string | null;
  size: number;
  content_type: string;
  last_modified: number;
  kind: PageKind;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY,
  epoch INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  path TEXT NOT NULL,
  op TEXT NOT NULL,
  sha256 TEXT,
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_sigs (
  epoch INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  sig TEXT NOT NULL,
  PRIMARY KEY (epoch, batch)
);
CREATE INDEX IF NOT EXISTS journal_sha256 ON journal (sha256);
CREATE INDEX IF NOT EXISTS journal_path ON journal (path, seq);
`;

/** The site key's signature (docs/trust.md) beside the legacy one; added to mirrors created before it existed. */
function addSignatureColumn(db: SqliteDatabase): void {
  const columns = db.prepare<{ name: string }>('PRAGMA table_info(batch_sigs)').all();
  if (!columns.some((c) => c.name === 'signature')) db.exec('ALTER TABLE batch_sigs ADD COLUMN signature TEXT');
}

export class FeedJournal {
  private readonly insertJournal: Statement;
  private readonly journalFrom: Statement<JournalRow>;
  private readonly insertSig: Statement;
  private readonly getSig: Statement<{ sig: string; signature: string | null }>;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    addSignatureColumn(db);
    addVariantColumns(db, 'journal');
    this.insertJournal = db.prepare(
      `INSERT INTO journal (seq, epoch, batch, path, op, sha256, size, content_type, last_modified, kind,
         gzip_sha256, gzip_size, br_sha256, br_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.journalFrom = db.prepare('SELECT * FROM journal WHERE seq > ? ORDER BY seq');
    this.insertSig = db.prepare('INSERT OR REPLACE INTO batch_sigs (epoch, batch, sig, signature) VALUES (?, ?, ?, ?)');
    this.getSig = db.prepare('SELECT sig, signature FROM batch_sigs WHERE epoch = ? AND batch = ?');
  }

  /** Records an applied batch; runs inside the transaction that applies it to the index. */
  record(batch: FeedBatch): void {
    for (const e of batch.entries) {
      this.insertJournal.run(
        e.seq,
        e.epoch,
        e.batch,
        e.path,
        e.op,
        e.sha256,
        e.size,
        e.contentType,
        e.lastModified,
        e.kind,
        // Relayed without their bodies: a follower fetches them by hash, like any blob this mirror holds.
        ...Object.values(variantColumns(e.variants)),
      );
    }
    if (batch.sig || batch.signature)
      this.insertSig.run(
        batch.epoch,
        batch.batch,
        batch.sig ?? '',
        batch.signature ? JSON.stringify(batch.signature) : null,
      );
  }

  /**
   * A takedown: the origin rewrote its history so that no entry names a
   * purged blob, but the batches this mirror recorded carry the origin's
   * signatures over the old entries, which it cannot re-sign. So the relay
   * journal is cut instead: every whole batch up to the last one that named
   * one of `shas` as a page body goes. Followers already past it are not
   * affected; one further behind is refused at the gap and resumes from the
   * origin (docs/mirrors.md, "Takedowns"). Runs inside the applying transaction.
   */
  scrub(shas: string[]): void {
    if (shas.length === 0) return;
    const marks = shas.map(() => '?').join(', ');
    const last = this.db
      .prepare<{ epoch: number; batch: number } | undefined>(
        `SELECT epoch, batch FROM journal WHERE op IN ('put', 'gone')
           AND (sha256 IN (${marks}) OR gzip_sha256 IN (${marks}) OR br_sha256 IN (${marks})) ORDER BY seq DESC LIMIT 1`,
      )
      .get(...shas, ...shas, ...shas);
    if (!last) return;
    const end = this.db
      .prepare<{ seq: number }>('SELECT MAX(seq) AS seq FROM journal WHERE epoch = ? AND batch = ?')
      .get(last.epoch, last.batch);
    this.db.prepare('DELETE FROM journal WHERE seq <= ?').run(end?.seq ?? 0);
    this.db.exec(
      'DELETE FROM batch_sigs WHERE NOT EXISTS (SELECT 1 FROM journal j WHERE j.epoch = batch_sigs.epoch AND j.batch = batch_sigs.batch)',
    );
  }

  /** The highest epoch of an applied batch signed by `key` (version-2 signatures), or undefined. */
  highestEpochSignedBy(key: string): number | undefined {
    const row = this.db
      .prepare<{ epoch: number | null }>(
        "SELECT MAX(epoch) AS epoch FROM batch_sigs WHERE signature IS NOT NULL AND json_extract(signature, '$.key') = ?",
      )
      .get(key);
    return row?.epoch ?? undefined;
  }

  /**
   * The signed batch that last changed `path`, whole, as it was applied: a
   * reader's browser checks a page fetched from this mirror against it
   * (docs/mirrors.md, "Browser failover"). Undefined when the journal does
   * not hold the path's latest change with a site signature (a copy loaded
   * from a manifest or a bundle, a journal cut by a takedown, a legacy-only
   * signature).
   */
  proofOf(path: string): FeedBatch | undefined {
    const last = this.db
      .prepare<{ seq: number; epoch: number; batch: number } | undefined>(
        'SELECT seq, epoch, batch FROM journal WHERE path = ? ORDER BY seq DESC LIMIT 1',
      )
      .get(path);
    if (!last) return undefined;
    const first = this.db
      .prepare<{ seq: number }>('SELECT MIN(seq) AS seq FROM journal WHERE epoch = ? AND batch = ?')
      .get(last.epoch, last.batch);
    const [batch] = this.batchesAfter((first?.seq ?? last.seq) - 1, 1);
    return batch?.signature ? batch : undefined;
  }

  /** Up to `maxBatches` whole applied batches after `after`, in order, rebuilt from the journal. */
  batchesAfter(after: number, maxBatches: number): FeedBatch[] {
    const out: FeedBatch[] = [];
    let current: FeedBatch | undefined;
    for (const row of this.journalFrom.iterate(after)) {
      if (!current || current.batch !== row.batch || current.epoch !== row.epoch) {
        if (out.length === maxBatches) break;
        // Re-served with the origin's signatures, so peers and proxies can verify what this mirror relays.
        const sigs = this.getSig.get(row.epoch, row.batch);
        current = { epoch: row.epoch, batch: row.batch, entries: [] };
        if (sigs?.signature) current.signature = JSON.parse(sigs.signature) as SiteSignature;
        if (sigs?.sig) current.sig = sigs.sig;
        out.push(current);
      }
      current.entries.push(toEntry(row));
    }
    return out;
  }
}

function toEntry(row: JournalRow): JournalEntry {
  const variants = variantsOfRow(row as unknown as Record<string, unknown>);
  return {
    ...(variants ? { variants } : {}),
    seq: row.seq,
    epoch: row.epoch,
    batch: row.batch,
    path: row.path,
    op: row.op,
    sha256: row.sha256,
    size: row.size,
    contentType: row.content_type,
    lastModified: row.last_modified,
    kind: row.kind,
  };
}
