// Content-addressed blobs on disk (`blobs/ab/abcd…`). A blob is written to a
// temp file, hashed as it streams, fsynced and renamed into place only if the
// bytes hash to its name, so a file at a blob's path is always that blob:
// the index may name it as soon as it exists (docs/mirrors.md, "Applying
// batches").
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SHA256_HEX } from '../common/hash';
import { BlobMismatchError } from './errors';
import { ownedTempName } from './temp-files';

export type BlobBody = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export class BlobStore {
  constructor(
    private readonly blobDir: string,
    private readonly tmpDir: string,
  ) {}

  /** Where a blob lives; `sha256` must already be validated (it becomes a file name). */
  blobPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  hasBlob(sha256: string): boolean {
    return SHA256_HEX.test(sha256) && fs.existsSync(this.blobPath(sha256));
  }

  /**
   * Streams `body` to a temp file while hashing it, fsyncs, and renames it
   * into place only if the bytes hash to `sha256` (and never exceed
   * `maxBytes`). A mismatch leaves nothing behind and throws BlobMismatchError.
   */
  async writeBlob(sha256: string, body: BlobBody, maxBytes = Number.MAX_SAFE_INTEGER): Promise<void> {
    const final = this.blobPath(sha256);
    const temp = path.join(this.tmpDir, ownedTempName(sha256));
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

  /** Moves `file`, already verified to hash to `sha256` and fsynced, into place. */
  async install(file: string, sha256: string): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.blobPath(sha256)), { recursive: true });
    await fs.promises.rename(file, this.blobPath(sha256));
  }

  /** Removes a blob file (a corrupt copy found by verify) so it is fetched again. */
  dropBlob(sha256: string): void {
    fs.rmSync(this.blobPath(sha256), { force: true });
  }
}
