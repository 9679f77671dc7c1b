// The mirror's local copy: content-addressed blobs on disk and an SQLite
// index of what each public path serves, plus the journal of applied entries
// (so the mirror can serve /feed itself) and the cursor/epoch it resumes from.
//
// Ordering guarantee (DESIGN §2 step 6): blobs are written and fsynced first;
// a batch's index changes then land in one SQLite transaction, and only if
// every blob it names is already on disk. A reader therefore never sees an
// index entry (or an index page) pointing at a page the mirror lacks.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FeedBatch, JournalEntry, ManifestPage, Op, PageKind } from '../common/feed-format';
import { SHA256_HEX } from '../common/hash';
import { BlobMismatchError, MissingBlobError, OutOfOrderBatchError, StaleEpochBatchError } from './errors';
import { openSqlite, type SqliteDatabase, type Statement } from './sqlite';

export interface PageRecord {
  path: string;
  op: Exclude<Op, 'delete'>;
  sha256: string;
  size: number;
  contentType: string;
  lastModified: number;
  kind: PageKind;
  seq: number;
}

interface PageRow {
  path: string;
  op: Exclude<Op, 'delete'>;
  sha256: string;
  size: number;
  content_type: string;
  last_modified: number;
  kind: PageKind;
  seq: number;
}

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

const PART_MAX_AGE_MS = 24 * 3600_000;
/** A temp file's owner: `SHA.PID.RANDOM` (a blob being written) or `SHA.part.PID.RANDOM` (a claimed partial download). */
const TEMP_OWNER = /\.(\d+)\.[0-9a-f]{12}$/;
const CLAIMED_PART = /^([0-9a-f]{64})\.part\.\d+\.[0-9a-f]{12}$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a batch cannot follow the stored state, or undefined if it can. Pure. */
export function batchRefusal(batch: FeedBatch, cursor: number, epoch: number): Error | undefined {
  if (batch.epoch < epoch) return new StaleEpochBatchError(batch.epoch, epoch);
  const first = batch.entries[0].seq;
  // The journal has no gaps (seqs are assigned under one row lock), so anything
  // but cursor + 1 is a replay, a reordering or a batch dropped on the way.
  if (first !== cursor + 1) return new OutOfOrderBatchError(first, cursor);
  return undefined;
}

/** The distinct blobs a batch needs (every put and gone entry names one). */
export function blobsOf(batch: FeedBatch): { sha256: string; size: number }[] {
  const seen = new Map<string, number>();
  for (const e of batch.entries) if (e.sha256 !== null && !seen.has(e.sha256)) seen.set(e.sha256, e.size);
  return [...seen].map(([sha256, size]) => ({ sha256, size }));
}

export class MirrorStore {
  private readonly db: SqliteDatabase;
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private readonly getState: Statement<{ cursor: number; epoch: number }>;
  private readonly getPage: Statement<PageRow>;
  private readonly upsertPage: Statement;
  private readonly deletePage: Statement;
  private readonly insertJournal: Statement;
  private readonly setState: Statement;
  private readonly journalFrom: Statement<JournalRow>;
  private readonly applyTx: (batch: FeedBatch) => void;
  private readonly insertSig: Statement;
  private readonly getSig: Statement<{ sig: string }>;
  private readonly stageTx: (pages: ManifestPage[]) => void;
  private readonly commitStageTx: (epoch: number, cursor: number) => number;

  private constructor(readonly dir: string) {
    this.blobDir = path.join(dir, 'blobs');
    this.tmpDir = path.join(this.blobDir, 'tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true });
    // A `.part` file is an interrupted download that a later fetch resumes (HTTP Range); one
    // claimed by a process that died (SIGKILL) goes back to being one. Files of a live process
    // (the mirror, while `mirror verify` opens its store) are in flight: leave them. Other temp
    // files, and parts nobody came back for within a day, are worthless.
    const stale = Date.now() - PART_MAX_AGE_MS;
    for (const name of fs.readdirSync(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      // lstat: a link is no download of ours; no entry: another process just finished it.
      const stat = fs.lstatSync(file, { throwIfNoEntry: false });
      if (!stat) continue;
      const owner = TEMP_OWNER.exec(name);
      if (owner && stat.isFile() && processAlive(Number(owner[1]))) continue;
      const claimed = CLAIMED_PART.exec(name);
      if (claimed && stat.isFile() && stat.mtimeMs >= stale && !fs.existsSync(this.partPath(claimed[1])))
        fs.renameSync(file, this.partPath(claimed[1]));
      else if (!name.endsWith('.part') || !stat.isFile() || stat.mtimeMs < stale)
        fs.rmSync(file, { force: true, recursive: true });
    }
    this.db = openSqlite(path.join(dir, 'index.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // better-sqlite3 builds SQLite with a 16 MB page cache, which a 100,000-page bootstrap fills
    // (the index is ~35 MB). Lookups are by primary key and the OS caches the file anyway; 4 MB
    // keeps the mirror's memory from growing with the site.
    this.db.pragma('cache_size = -4000');
    this.db.exec(SCHEMA);
    this.getState = this.db.prepare('SELECT cursor, epoch FROM state WHERE id = 1');
    this.getPage = this.db.prepare('SELECT * FROM pages WHERE path = ?');
    this.upsertPage = this.db.prepare(
      `INSERT INTO pages (path, op, sha256, size, content_type, last_modified, kind, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET op = excluded.op, sha256 = excluded.sha256, size = excluded.size,
         content_type = excluded.content_type, last_modified = excluded.last_modified, kind = excluded.kind, seq = excluded.seq`,
    );
    this.deletePage = this.db.prepare('DELETE FROM pages WHERE path = ?');
    this.insertJournal = this.db.prepare(
      'INSERT INTO journal (seq, epoch, batch, path, op, sha256, size, content_type, last_modified, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.setState = this.db.prepare('UPDATE state SET cursor = ?, epoch = ? WHERE id = 1');
    this.journalFrom = this.db.prepare('SELECT * FROM journal WHERE seq > ? ORDER BY seq');
    this.insertSig = this.db.prepare('INSERT OR REPLACE INTO batch_sigs (epoch, batch, sig) VALUES (?, ?, ?)');
    this.getSig = this.db.prepare('SELECT sig FROM batch_sigs WHERE epoch = ? AND batch = ?');
    const stagePage = this.db.prepare(
      `INSERT OR REPLACE INTO manifest_stage (path, op, sha256, size, content_type, last_modified, kind, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.stageTx = this.db.transaction((pages: ManifestPage[]) => {
      for (const p of pages)
        stagePage.run(p.path, p.op, p.sha256, p.size, p.contentType, p.lastModified, p.kind, p.seq);
    });
    this.commitStageTx = this.db.transaction((epoch: number, cursor: number) => {
      const state = this.state();
      if (epoch < state.epoch) throw new StaleEpochBatchError(epoch, state.epoch);
      if (cursor < state.cursor) throw new OutOfOrderBatchError(cursor + 1, state.cursor);
      for (const row of this.db.prepare<{ sha256: string }>('SELECT DISTINCT sha256 FROM manifest_stage').iterate()) {
        if (!this.hasBlob(row.sha256)) throw new MissingBlobError(row.sha256);
      }
      const changed = this.db
        .prepare('DELETE FROM pages WHERE path NOT IN (SELECT path FROM manifest_stage)')
        .run().changes;
      const upserted = this.db
        .prepare(
          `INSERT INTO pages (path, op, sha256, size, content_type, last_modified, kind, seq)
           SELECT path, op, sha256, size, content_type, last_modified, kind, seq FROM manifest_stage WHERE true
           ON CONFLICT (path) DO UPDATE SET op = excluded.op, sha256 = excluded.sha256, size = excluded.size,
             content_type = excluded.content_type, last_modified = excluded.last_modified, kind = excluded.kind, seq = excluded.seq
           WHERE pages.op IS NOT excluded.op OR pages.sha256 IS NOT excluded.sha256 OR pages.size IS NOT excluded.size
             OR pages.content_type IS NOT excluded.content_type OR pages.last_modified IS NOT excluded.last_modified
             OR pages.kind IS NOT excluded.kind`,
        )
        .run().changes;
      this.setState.run(cursor, epoch);
      this.db.exec('DELETE FROM manifest_stage');
      return changed + upserted;
    });
    this.applyTx = this.db.transaction((batch: FeedBatch) => {
      const state = this.state();
      const refusal = batchRefusal(batch, state.cursor, state.epoch);
      if (refusal) throw refusal;
      for (const { sha256 } of blobsOf(batch)) if (!this.hasBlob(sha256)) throw new MissingBlobError(sha256);
      for (const e of batch.entries) {
        if (e.op === 'delete') this.deletePage.run(e.path);
        else this.upsertPage.run(e.path, e.op, e.sha256, e.size, e.contentType, e.lastModified, e.kind, e.seq);
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
        );
      }
      if (batch.sig) this.insertSig.run(batch.epoch, batch.batch, batch.sig);
      this.setState.run(batch.entries[batch.entries.length - 1].seq, batch.epoch);
    });
  }

  static open(dir: string): MirrorStore {
    fs.mkdirSync(dir, { recursive: true });
    return new MirrorStore(dir);
  }

  state(): { cursor: number; epoch: number } {
    const row = this.getState.get();
    if (!row) throw new Error('mirror state row is missing');
    return row;
  }

  cursor(): number {
    return this.state().cursor;
  }

  epoch(): number {
    return this.state().epoch;
  }

  /** Where a blob lives; `sha256` must already be validated (it becomes a file name). */
  blobPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  hasBlob(sha256: string): boolean {
    return SHA256_HEX.test(sha256) && fs.existsSync(this.blobPath(sha256));
  }

  /** The blobs of `batch` not yet on disk. */
  missingBlobs(batch: FeedBatch): { sha256: string; size: number }[] {
    return blobsOf(batch).filter((b) => !this.hasBlob(b.sha256));
  }

  /**
   * Streams `body` to a temp file while hashing it, fsyncs, and renames it
   * into place only if the bytes hash to `sha256` (and never exceed
   * `maxBytes`). A mismatch leaves nothing behind and throws BlobMismatchError.
   */
  async writeBlob(
    sha256: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    maxBytes = Number.MAX_SAFE_INTEGER,
  ): Promise<void> {
    const final = this.blobPath(sha256);
    const temp = path.join(this.tmpDir, `${sha256}.${process.pid}.${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const file = await fs.promises.open(temp, 'wx');
    let renamed = false;
    try {
      for await (const chunk of body) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes)
          throw new BlobMismatchError(sha256, `blob ${sha256} is longer than the announced ${maxBytes} bytes`);
        hash.update(chunk);
        await file.write(chunk);
      }
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new BlobMismatchError(sha256, `blob ${sha256} arrived with hash ${actual}`);
      await file.sync();
      await file.close();
      await fs.promises.mkdir(path.dirname(final), { recursive: true });
      await fs.promises.rename(temp, final);
      renamed = true;
    } finally {
      if (!renamed) {
        await file.close().catch(() => undefined);
        await fs.promises.rm(temp, { force: true });
      }
    }
  }

  /** Bytes of `sha256` already on disk from an interrupted download (0 if none). */
  partialBytes(sha256: string): number {
    try {
      return fs.statSync(this.partPath(sha256)).size;
    } catch {
      return 0;
    }
  }

  /** Forgets an interrupted download, so the next attempt starts from byte 0. */
  dropPartial(sha256: string): void {
    fs.rmSync(this.partPath(sha256), { force: true });
  }

  /**
   * Writes `body` into the partial download of `sha256` from byte `offset`
   * (the bytes before it are those already on disk; 0 starts over). When
   * `body` ends, the sha256 of the whole file is checked and the blob moved
   * into place. If `body` fails midway, the bytes received so far stay for
   * the next attempt to resume from (from this source or another: the name
   * is the hash). A mismatch or an overrun discards the partial and throws
   * BlobMismatchError.
   *
   * The writer first claims the partial by renaming it to a name of its own
   * (atomic), so two writers of one blob (the mirror and `mirror verify
   * --repair`) never write one file; the one that finds it taken fails this
   * attempt, and its next one starts from what is then on disk.
   */
  async receiveBlob(
    sha256: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    offset: number,
    maxBytes = Number.MAX_SAFE_INTEGER,
  ): Promise<void> {
    const resting = this.partPath(sha256);
    const part = `${resting}.${process.pid}.${randomBytes(6).toString('hex')}`;
    if (offset > 0) {
      try {
        await fs.promises.rename(resting, part);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw new Error(`the partial download of ${sha256} was taken by another writer; starting over`);
      }
    }
    const hash = createHash('sha256');
    const file = await fs.promises.open(part, offset > 0 ? 'r+' : 'wx');
    let closed = false;
    try {
      let position = 0;
      if (offset > 0) {
        await file.truncate(offset);
        // The hash covers the whole file, including what an earlier attempt (or source) delivered.
        const buffer = Buffer.allocUnsafe(Math.min(offset, 1 << 20));
        while (position < offset) {
          const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, offset - position), position);
          if (bytesRead === 0) throw new Error(`partial download of ${sha256} is shorter than ${offset} bytes`);
          hash.update(buffer.subarray(0, bytesRead));
          position += bytesRead;
        }
      }
      for await (const chunk of body) {
        if (position + chunk.byteLength > maxBytes)
          throw new BlobMismatchError(sha256, `blob ${sha256} is longer than the announced ${maxBytes} bytes`);
        hash.update(chunk);
        await file.write(chunk, 0, chunk.byteLength, position);
        position += chunk.byteLength;
      }
      const actual = hash.digest('hex');
      if (actual !== sha256)
        throw new BlobMismatchError(
          sha256,
          `blob ${sha256} arrived with hash ${actual}${offset > 0 ? ` (resumed at byte ${offset})` : ''}`,
        );
      await file.sync();
      await file.close();
      closed = true;
      await fs.promises.mkdir(path.dirname(this.blobPath(sha256)), { recursive: true });
      await fs.promises.rename(part, this.blobPath(sha256));
      // A partial this download did not start from (a source that ignored the Range) is worthless now.
      await fs.promises.rm(resting, { force: true });
    } catch (error) {
      if (!closed) await file.close().catch(() => undefined);
      // Interrupted: what arrived becomes the partial the next attempt resumes.
      if (error instanceof BlobMismatchError) await fs.promises.rm(part, { force: true });
      else await fs.promises.rename(part, resting).catch(() => fs.promises.rm(part, { force: true }));
      throw error;
    }
  }

  private partPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.tmpDir, `${sha256}.part`);
  }

  /** Applies a whole batch in one transaction; throws (changing nothing) on refusal or a missing blob. */
  applyBatch(batch: FeedBatch): void {
    this.applyTx(batch);
  }

  lookup(publicPath: string): PageRecord | undefined {
    const row = this.getPage.get(publicPath);
    if (!row) return undefined;
    return {
      path: row.path,
      op: row.op,
      sha256: row.sha256,
      size: row.size,
      contentType: row.content_type,
      lastModified: row.last_modified,
      kind: row.kind,
      seq: row.seq,
    };
  }

  /** Up to `maxBatches` whole applied batches after `after`, in order, rebuilt from the journal. */
  batchesAfter(after: number, maxBatches: number): FeedBatch[] {
    const out: FeedBatch[] = [];
    let current: FeedBatch | undefined;
    for (const row of this.journalFrom.iterate(after)) {
      if (!current || current.batch !== row.batch || current.epoch !== row.epoch) {
        if (out.length === maxBatches) break;
        // Re-served with the origin's signature, so peers and proxies can verify what this mirror relays.
        const sig = this.getSig.get(row.epoch, row.batch)?.sig;
        current = { epoch: row.epoch, batch: row.batch, entries: [], ...(sig ? { sig } : {}) };
        out.push(current);
      }
      current.entries.push(toEntry(row));
    }
    return out;
  }

  /** Starts staging a manifest (bootstrap or verify): forgets any earlier, unfinished one. */
  clearStage(): void {
    this.db.exec('DELETE FROM manifest_stage');
  }

  stagePages(pages: ManifestPage[]): void {
    this.stageTx(pages);
  }

  /** Distinct blobs the staged manifest names that are not on disk, `limit` at a time. */
  missingStagedBlobs(limit: number, afterSha = ''): { sha256: string; size: number }[] {
    const out: { sha256: string; size: number }[] = [];
    let last = afterSha;
    for (;;) {
      const rows = this.db
        .prepare<{ sha256: string; size: number }>(
          'SELECT sha256, MAX(size) AS size FROM manifest_stage WHERE sha256 > ? GROUP BY sha256 ORDER BY sha256 LIMIT 1000',
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
  commitStage(epoch: number, cursor: number): number {
    return this.commitStageTx(epoch, cursor);
  }

  /** How the staged manifest differs from the index: paths missing here, different here, or here but not there. */
  diffStage(limit = 20): { missing: number; differing: number; extra: number; examples: string[] } {
    const missing =
      this.db
        .prepare<{ n: number }>(
          'SELECT COUNT(*) AS n FROM manifest_stage s WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.path = s.path)',
        )
        .get()?.n ?? 0;
    const differing =
      this.db
        .prepare<{ n: number }>(
          `SELECT COUNT(*) AS n FROM manifest_stage s JOIN pages p ON p.path = s.path
           WHERE p.op IS NOT s.op OR p.sha256 IS NOT s.sha256 OR p.kind IS NOT s.kind OR p.content_type IS NOT s.content_type OR p.last_modified IS NOT s.last_modified`,
        )
        .get()?.n ?? 0;
    const extra =
      this.db
        .prepare<{ n: number }>(
          'SELECT COUNT(*) AS n FROM pages p WHERE NOT EXISTS (SELECT 1 FROM manifest_stage s WHERE s.path = p.path)',
        )
        .get()?.n ?? 0;
    const examples = this.db
      .prepare<{ path: string }>(
        `SELECT s.path FROM manifest_stage s LEFT JOIN pages p ON p.path = s.path WHERE p.path IS NULL OR p.sha256 IS NOT s.sha256 OR p.op IS NOT s.op
         UNION ALL SELECT p.path FROM pages p WHERE NOT EXISTS (SELECT 1 FROM manifest_stage s WHERE s.path = p.path) LIMIT ?`,
      )
      .all(limit)
      .map((r) => r.path);
    return { missing, differing, extra, examples };
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
      for (const row of rows) {
        yield {
          path: row.path,
          op: row.op,
          sha256: row.sha256,
          size: row.size,
          contentType: row.content_type,
          lastModified: row.last_modified,
          kind: row.kind,
          seq: row.seq,
        };
      }
      if (rows.length < 1000) return;
      last = rows[rows.length - 1].path;
    }
  }

  /** How many paths the index holds (live pages and tombstones). */
  pageCount(): number {
    return this.db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM pages').get()?.n ?? 0;
  }

  /** Removes a blob file (a corrupt copy found by verify) so it is fetched again. */
  dropBlob(sha256: string): void {
    fs.rmSync(this.blobPath(sha256), { force: true });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toEntry(row: JournalRow): JournalEntry {
  return {
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
