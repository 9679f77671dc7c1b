// `hyperstatic mirror --from-bundle PATH`: a mirror takes its copy from a
// bundle (common/bundle-format.ts) instead of an origin's manifest, then
// follows the feed from the bundle's cursor. The bundle is verified first
// (verify.ts) with the mirror's own trust state; then its manifest is staged,
// its page files copied into the blob store (each hashed again on the way
// in) and the index made the manifest in one transaction (the same commit a
// bootstrap from an origin ends with, manifest-sync.ts).
import fs from 'node:fs';
import path from 'node:path';
import { bundleFileOf, manifestFilePages, metaFile } from '../../common/bundle-format';
import { parseManifestPage, type ManifestPage } from '../../common/feed-format';
import type { Logger } from '../../common/logger';
import type { TrustState } from '../../common/trust/trust-state';
import type { MirrorStore } from '../mirror-store';
import { BundleRefusedError, verifyBundle, type VerifiedBundle } from './verify';

const CHUNK = 500;

export interface LoadResult {
  bundle: VerifiedBundle;
  /** False when the copy was already at or past the bundle's cursor: nothing changed. */
  loaded: boolean;
  changedPaths: number;
}

export async function loadBundle(options: {
  dir: string;
  store: MirrorStore;
  trust: TrustState;
  logger: Logger;
  now?: () => number;
}): Promise<LoadResult> {
  const { store, trust, logger } = options;
  const bundle = await verifyBundle(options.dir, trust, options.now);
  const cursor = store.cursor();
  if (cursor >= bundle.cursor) {
    logger.info({ cursor, bundleCursor: bundle.cursor }, 'this copy is already at or past the bundle; not loading it');
    return { bundle, loaded: false, changedPaths: 0 };
  }
  // A delta holds only pages changed after `since`: the older ones must already be here.
  if (bundle.since > cursor)
    throw new BundleRefusedError(bundle.dir, [
      `the bundle holds only changes after journal entry ${bundle.since}; this copy is at ${cursor} (load a whole-site bundle, or one --since ${cursor} or earlier)`,
    ]);
  const manifestFile = path.join(bundle.dir, metaFile('manifest'));
  store.clearStage();
  let chunk: ManifestPage[] = [];
  const flush = async () => {
    // A bundle carries each page's identity bytes only: its compressed variants come with the next change the feed brings.
    store.stagePages(chunk.map(({ variants: _variants, ...page }) => page));
    for (const page of chunk) {
      if (page.seq <= bundle.since || store.hasBlob(page.sha256)) continue;
      // writeBlob hashes what it copies: a file changed since verify is refused here too.
      await store.writeBlob(
        page.sha256,
        fs.createReadStream(path.join(bundle.dir, bundleFileOf(page.path))),
        page.size,
      );
    }
    chunk = [];
  };
  for await (const page of manifestFilePages(manifestFile, parseManifestPage)) {
    chunk.push(page);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  const missing = store.missingStagedBlobs(1);
  if (missing.length > 0) {
    store.clearStage();
    throw new BundleRefusedError(bundle.dir, [
      `blob ${missing[0].sha256} is neither in the bundle nor in this copy (the delta is not for this copy)`,
    ]);
  }
  const changedPaths = store.commitStage(bundle.epoch, bundle.cursor);
  // Kept for readers' browsers, which check pages against it (failover-route.ts); copied, then renamed into place.
  fs.copyFileSync(manifestFile, `${store.signedManifestFile()}.partial`);
  store.keepSignedManifest(`${store.signedManifestFile()}.partial`);
  // The bundle's heartbeat says how fresh the copy is until the feed brings a newer one.
  trust.acceptHeartbeat(bundle.heartbeat);
  logger.info(
    { bundle: bundle.dir, cursor: bundle.cursor, epoch: bundle.epoch, pages: bundle.pages, changedPaths },
    'loaded the copy from a bundle',
  );
  return { bundle, loaded: true, changedPaths };
}
