// `hyperstatic mirror verify`: compares a mirror's copy with a manifest
// (the origin's, signed; or a peer's, unsigned) and with its own blobs, and
// repairs what it can prove: corrupt or missing blobs are fetched again by
// hash from any source; path differences are repaired only from a manifest
// signed by the pinned origin key, never from a peer's word.
import { createHash } from 'node:crypto';
import type { TrustState } from '../common/trust/trust-state';
import fs from 'node:fs';
import type { Logger } from '../common/logger';
import type { BlobFetcher } from './blob-fetcher';
import { fetchMissingStaged, stageManifest } from './manifest-sync';
import type { MirrorStore } from './mirror-store';
import type { Progress } from './progress';

export interface VerifyReport {
  source: string;
  signed: boolean;
  manifestCursor: number;
  localCursor: number;
  pages: number;
  missing: number;
  differing: number;
  extra: number;
  examples: string[];
  corruptBlobs: string[];
  repairedBlobs: number;
  repairedPaths: number;
  /** True when, after any repair, the copy equals the manifest and every blob verifies. */
  consistent: boolean;
  notes: string[];
}

async function hashFile(file: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return undefined;
  }
}

/** Re-hashes every blob the index names; returns the ones that are missing or no longer match their name. */
export async function findCorruptBlobs(
  store: MirrorStore,
  progress?: Progress,
): Promise<{ sha256: string; size: number }[]> {
  const seen = new Set<string>();
  const bad: { sha256: string; size: number }[] = [];
  progress?.setTotal(store.pageCount());
  for (const page of store.pages()) {
    progress?.increment(1);
    // The page's compressed variants are blobs too.
    for (const blob of [page, ...Object.values(page.variants ?? {})]) {
      if (seen.has(blob.sha256)) continue;
      seen.add(blob.sha256);
      if ((await hashFile(store.blobPath(blob.sha256))) !== blob.sha256)
        bad.push({ sha256: blob.sha256, size: blob.size });
    }
  }
  return bad;
}

export async function verifyMirror(options: {
  store: MirrorStore;
  /** Base URL of the origin or peer whose manifest is the reference. */
  url: string;
  /** The manifest path: `/manifest` on an origin, `/_mirror/manifest` on a peer. */
  manifestPath: string;
  /** Sent with the manifest request (a peer's admin token). */
  headers?: Record<string, string>;
  /** The pinned key; a manifest that does not verify against it is refused. Omit for a peer's manifest. */
  trust?: TrustState;
  fetcher: BlobFetcher;
  repair: boolean;
  logger: Logger;
  progress?: Progress;
}): Promise<VerifyReport> {
  const { store, fetcher, repair, url } = options;
  const notes: string[] = [];
  const localCursor = store.cursor();

  const corrupt = await findCorruptBlobs(store, options.progress);
  let repairedBlobs = 0;
  if (repair && corrupt.length > 0) {
    for (const b of corrupt) store.dropBlob(b.sha256);
    await fetcher.fetchAll(corrupt, url);
    repairedBlobs = corrupt.length;
  }

  const staged = await stageManifest({
    store,
    url,
    manifestPath: options.manifestPath,
    trust: options.trust,
    headers: options.headers,
    logger: options.logger,
  });
  const diff = store.diffStage();
  let repairedPaths = 0;
  const differences = diff.missing + diff.differing + diff.extra;
  if (differences > 0) {
    if (staged.cursor !== localCursor)
      notes.push(
        `the manifest is at cursor ${staged.cursor} and this mirror at ${localCursor}: some differences may be changes one side has not applied yet`,
      );
    if (!repair) notes.push('run with --repair to fix them');
    else if (!staged.signed)
      notes.push(
        'a peer manifest is unsigned: path differences are reported, not repaired (repair against the origin)',
      );
    else if (staged.cursor < localCursor)
      notes.push("the manifest is older than this mirror's copy: not repairing from it");
    else {
      await fetchMissingStaged(store, fetcher, url);
      repairedPaths = store.commitStage(staged.epoch, staged.cursor);
    }
  }
  store.clearStage();
  const pathsOk = differences === 0 || (repair && staged.signed && staged.cursor >= localCursor);
  return {
    source: url,
    signed: staged.signed,
    manifestCursor: staged.cursor,
    localCursor,
    pages: staged.count,
    ...diff,
    corruptBlobs: corrupt.map((b) => b.sha256),
    repairedBlobs,
    repairedPaths,
    consistent: pathsOk && (corrupt.length === 0 || repairedBlobs === corrupt.length),
    notes,
  };
}
