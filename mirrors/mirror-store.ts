// The mirror's local copy, one directory: content-addressed blobs on disk
// (blob-store.ts) with resumable partial downloads (partial-downloads.ts),
// and one SQLite file holding the index of what each public path serves
// (index-store.ts), the journal the mirror relays as its own /feed
// (feed-journal.ts) and a manifest being loaded (manifest-staging.ts).
// MirrorStore opens them together and is what the rest of the mirror holds.
//
// Ordering guarantee (docs/mirrors.md, "Applying batches"): blobs are
// written and fsynced first; a batch's index changes then land in one SQLite
// transaction, and only if every blob it names is already on disk.
import fs from 'node:fs';
import path from 'node:path';
import type { FeedBatch, ManifestPage } from '../common/feed-format';
import { blobsOf, checkVariants } from './batch-checks';
import { BlobStore, type BlobBody } from './blob-store';
import { FeedJournal } from './feed-journal';
import { IndexStore, openIndexDatabase, type PageRecord } from './index-store';
import { ManifestStaging, type StageDiff } from './manifest-staging';
import { PartialDownloads } from './partial-downloads';
import { PurgedBlobs } from './purged-blobs';
import type { SqliteDatabase } from './sqlite';
import { sweepTempDir } from './temp-files';
import type { TrustStorage } from '../common/trust/trust-state';
import { sqliteTrustStorage } from './trust-store';

export type { PageRecord } from './index-store';

export class MirrorStore {
  private readonly db: SqliteDatabase;
  private readonly blobs: BlobStore;
  private readonly partials: PartialDownloads;
  private readonly index: IndexStore;
  private readonly journal: FeedJournal;
  private readonly purges: PurgedBlobs;
  private readonly staging: ManifestStaging;
  /** The committed cursor, as page answers name it; undefined once a commit may have moved it. */
  private committedCursor: number | undefined;
  /** Statements, epoch marks and the latest heartbeat (trust-store.ts). */
  readonly trust: TrustStorage;

  private constructor(readonly dir: string) {
    const blobDir = path.join(dir, 'blobs');
    const tmpDir = path.join(blobDir, 'tmp');
    fs.mkdirSync(tmpDir, { recursive: true });
    sweepTempDir(tmpDir);
    this.blobs = new BlobStore(blobDir, tmpDir);
    this.partials = new PartialDownloads(tmpDir, this.blobs);
    const hasBlob = (sha256: string) => this.blobs.hasBlob(sha256);
    this.db = openIndexDatabase(path.join(dir, 'index.sqlite'));
    this.journal = new FeedJournal(this.db);
    this.purges = new PurgedBlobs(this.db);
    this.index = new IndexStore(this.db, this.journal, this.purges, hasBlob);
    this.staging = new ManifestStaging(this.db, this.index, hasBlob);
    this.trust = sqliteTrustStorage(this.db);
  }

  static open(dir: string): MirrorStore {
    fs.mkdirSync(dir, { recursive: true });
    return new MirrorStore(dir);
  }

  state(): { cursor: number; epoch: number } {
    return this.index.state();
  }

  cursor(): number {
    return this.state().cursor;
  }

  /**
   * The cursor for every page answer (Hyperstatic-Position), without a
   * query per request: read once after each commit that may have moved it.
   * better-sqlite3 transactions are synchronous, so no request reads it
   * mid-commit, and a rolled-back one leaves it to be read again.
   */
  servedPosition(): number {
    return (this.committedCursor ??= this.cursor());
  }

  epoch(): number {
    return this.state().epoch;
  }

  // Blobs

  /** Where a blob lives; `sha256` must already be validated (it becomes a file name). */
  blobPath(sha256: string): string {
    return this.blobs.blobPath(sha256);
  }

  hasBlob(sha256: string): boolean {
    return this.blobs.hasBlob(sha256);
  }

  /** The blobs of `batch` not yet on disk. */
  missingBlobs(batch: FeedBatch): { sha256: string; size: number }[] {
    return blobsOf(batch).filter((b) => !this.hasBlob(b.sha256));
  }

  /** See BlobStore.writeBlob: verified by hash before it is in place. */
  writeBlob(sha256: string, body: BlobBody, maxBytes?: number): Promise<void> {
    return this.blobs.writeBlob(sha256, body, maxBytes);
  }

  /** Removes a blob file (a corrupt copy found by verify) so it is fetched again. */
  dropBlob(sha256: string): void {
    this.blobs.dropBlob(sha256);
  }

  /** Whether a takedown purged the blob: it is not served (purged-blobs.ts). */
  isPurged(sha256: string): boolean {
    return this.purges.has(sha256);
  }

  // Partial downloads

  /** Bytes of `sha256` already on disk from an interrupted download (0 if none). */
  partialBytes(sha256: string): number {
    return this.partials.partialBytes(sha256);
  }

  /** Forgets an interrupted download, so the next attempt starts from byte 0. */
  dropPartial(sha256: string): void {
    this.partials.dropPartial(sha256);
  }

  /** See PartialDownloads.receiveBlob: resumes from `offset`, verifies the whole file. */
  receiveBlob(sha256: string, body: BlobBody, offset: number, maxBytes?: number): Promise<void> {
    return this.partials.receiveBlob(sha256, body, offset, maxBytes);
  }

  // Index

  /**
   * Applies a whole batch in one transaction; throws (changing nothing) on
   * refusal or a missing blob. Returns the batch as applied (and relayed):
   * without the variants that do not decode to their page (see
   * checkVariants), which it names in `dropped`.
   */
  applyBatch(batch: FeedBatch): { applied: FeedBatch; dropped: string[] } {
    const { applied, dropped } = checkVariants(batch, (sha256) =>
      this.blobs.hasBlob(sha256) ? fs.readFileSync(this.blobs.blobPath(sha256)) : undefined,
    );
    let purged: string[];
    try {
      purged = this.index.applyBatch(applied);
    } finally {
      this.committedCursor = undefined;
    }
    // Files go only once the purge is committed; one a crash leaves behind is still never served (isPurged).
    for (const sha256 of purged) {
      this.blobs.dropBlob(sha256);
      this.partials.dropPartial(sha256);
    }
    return { applied, dropped };
  }

  lookup(publicPath: string): PageRecord | undefined {
    return this.index.lookup(publicPath);
  }

  /** Every indexed page, in path order, without holding a statement open between pages. */
  pages(): Generator<PageRecord> {
    return this.index.pages();
  }

  /** How many paths the index holds (live pages and tombstones). */
  pageCount(): number {
    return this.index.pageCount();
  }

  // Journal

  /** The highest epoch of an applied batch signed by `key`, or undefined (feed-journal.ts). */
  highestEpochSignedBy(key: string): number | undefined {
    return this.journal.highestEpochSignedBy(key);
  }

  /**
   * Where the origin's signed manifest this copy was last loaded from (a
   * bootstrap or a bundle) is kept, byte for byte: with the journal's
   * signed batches after it, it proves every page this copy serves to a
   * reader's browser (failover-route.ts). Absent for a copy that replayed
   * the feed from the start.
   */
  signedManifestFile(): string {
    return path.join(this.dir, 'signed-manifest.ndjson');
  }

  /** Keeps `file` (a verified, committed manifest) as the signed manifest, replacing any older one. */
  keepSignedManifest(file: string): void {
    fs.renameSync(file, this.signedManifestFile());
  }

  /** The signed batch that last changed `path`, when the journal holds it (feed-journal.ts). */
  proofOf(path: string): FeedBatch | undefined {
    return this.journal.proofOf(path);
  }

  /** Up to `maxBatches` whole applied batches after `after`, in order, rebuilt from the journal. */
  batchesAfter(after: number, maxBatches: number): FeedBatch[] {
    return this.journal.batchesAfter(after, maxBatches);
  }

  // Manifest staging

  /** Starts staging a manifest (bootstrap or verify): forgets any earlier, unfinished one. */
  clearStage(): void {
    this.staging.clear();
  }

  stagePages(pages: ManifestPage[]): void {
    this.staging.stage(pages);
  }

  /** Distinct blobs the staged manifest names that are not on disk, `limit` at a time. */
  missingStagedBlobs(limit: number, afterSha = ''): { sha256: string; size: number }[] {
    return this.staging.missingBlobs(limit, afterSha);
  }

  /** Makes the index exactly the staged manifest, in one transaction; returns how many paths changed. */
  commitStage(epoch: number, cursor: number): number {
    try {
      return this.staging.commit(epoch, cursor);
    } finally {
      this.committedCursor = undefined;
    }
  }

  /** How the staged manifest differs from the index. */
  diffStage(limit = 20): StageDiff {
    return this.staging.diff(limit);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
