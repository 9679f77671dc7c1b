// Interrupted blob downloads kept on disk (`blobs/tmp/SHA.part`) so the next
// attempt, from this source or another (the name is the hash), asks only for
// the rest with an HTTP Range. The whole file is hashed before it becomes a
// blob, so a resumed download is verified exactly like a fresh one.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SHA256_HEX } from '../common/hash';
import type { BlobBody, BlobStore } from './blob-store';
import { BlobMismatchError } from './errors';
import { ownedTempName, partName } from './temp-files';

export class PartialDownloads {
  constructor(
    private readonly tmpDir: string,
    private readonly blobs: BlobStore,
  ) {}

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
  async receiveBlob(sha256: string, body: BlobBody, offset: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<void> {
    const resting = this.partPath(sha256);
    const part = ownedTempName(resting);
    if (offset > 0) await claim(resting, part, sha256);
    const hash = createHash('sha256');
    const file = await fs.promises.open(part, offset > 0 ? 'r+' : 'wx');
    let closed = false;
    try {
      let position = await hashPrefix(file, offset, hash, sha256);
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
      await this.blobs.install(part, sha256);
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
    return path.join(this.tmpDir, partName(sha256));
  }
}

/** Takes the resting partial for this writer alone (rename is atomic), or fails if another writer has it. */
async function claim(resting: string, part: string, sha256: string): Promise<void> {
  try {
    await fs.promises.rename(resting, part);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`the partial download of ${sha256} was taken by another writer; starting over`);
  }
}

/**
 * Cuts the claimed file to `offset` and feeds its bytes to `hash`: the hash
 * covers the whole file, including what an earlier attempt (or source)
 * delivered. Returns the position to write from.
 */
async function hashPrefix(file: fs.promises.FileHandle, offset: number, hash: Hash, sha256: string): Promise<number> {
  if (offset === 0) return 0;
  await file.truncate(offset);
  const buffer = Buffer.allocUnsafe(Math.min(offset, 1 << 20));
  let position = 0;
  while (position < offset) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, offset - position), position);
    if (bytesRead === 0) throw new Error(`partial download of ${sha256} is shorter than ${offset} bytes`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return position;
}
