// Takedown that removes (docs/design.md, "Change journal"): when an item's
// page stops being served (hidden, unpublished, deleted, renamed away), every
// body that page ever had is purged, with the media only it showed:
//   - a `purge` entry per blob joins the batch that tombstoned the page, after
//     its pages, so mirrors drop the file and proxies evict /blobs/SHA;
//   - the blob leaves `blobs` (the origin's /blobs/SHA answers 404 on every
//     replica) and is recorded in `purged_blobs` (media files stay on the
//     origin's disk but are no longer served);
//   - every earlier journal entry naming it is rewritten to what its path
//     serves now (or `delete`), so the feed never names or inlines it again
//     and a mirror replaying from 0 still ends in the right state.
// Runs in the caller's transaction, under the journal lock.
import type { Knex } from 'knex';
import { variantColumns, VARIANT_COLUMNS } from '../common/content-coding';
import { BLOB_PATH, type PageKind } from '../common/feed-format';

export interface PurgeResult {
  /** The purged blobs, in journal order. */
  purged: string[];
  /** Media paths deleted because no visible item shows them any more. */
  mediaDeleted: string[];
}

/** Media paths are `/media/SHA.ext` and `/media/SHA-480.webp` (app/media/media-store.ts): the original's hash names both. */
const MEDIA_LINK = /\/media\/([0-9a-f]{64})[-.]/g;

/**
 * Purges the history of `removed`, item pages this batch just turned into
 * tombstones or deleted. Appends to batch `batch` (its pages are already in
 * `pages` and `journal`); moves `lock.head`. Nothing to purge writes nothing.
 */
export async function purgeRemovedPages(
  trx: Knex.Transaction,
  lock: { epoch: number; head: number },
  batch: number,
  removed: string[],
  now: number,
): Promise<PurgeResult> {
  if (removed.length === 0) return { purged: [], mediaDeleted: [] };
  const pageBlobs = await unreferenced(trx, await shasServedAt(trx, removed));
  const media = await orphanedMedia(trx, pageBlobs);
  const mediaDeleted = media.flatMap((m) => m.paths);
  if (mediaDeleted.length > 0) await deleteMediaPages(trx, lock, batch, mediaDeleted, now);
  const mediaBlobs = await unreferenced(
    trx,
    media.flatMap((m) => m.shas),
  );
  const purged = [
    ...pageBlobs.map((sha256) => ({ sha256, kind: 'article' as const })),
    ...mediaBlobs.map((sha256) => ({ sha256, kind: 'media' as const })),
  ];
  if (purged.length === 0) return { purged: [], mediaDeleted };
  await appendPurges(trx, lock, batch, purged, now);
  // The media rows go too: the editor's library no longer offers them, and
  // uploading the same file again journals it afresh (media-store.ts).
  for (const chunk of chunks(
    media.map((m) => m.sha256),
    500,
  ))
    await trx('media').whereIn('sha256', chunk).delete();
  return { purged: purged.map((p) => p.sha256), mediaDeleted };
}

/** Every blob ever journaled as a body at these paths, or as one of its compressed variants. */
async function shasServedAt(trx: Knex.Transaction, paths: string[]): Promise<string[]> {
  const shas = new Set<string>();
  for (const chunk of chunks(paths, 500)) {
    const rows = await trx('journal')
      .whereIn('path', chunk)
      .whereIn('op', ['put', 'gone'])
      .distinct('sha256', 'gzip_sha256', 'br_sha256');
    for (const r of rows)
      for (const sha of [r.sha256, r.gzip_sha256, r.br_sha256]) if (typeof sha === 'string' && sha) shas.add(sha);
  }
  return [...shas];
}

/** Those of `shas` no page serves now (a live page or a current tombstone keeps its blob and its variants). */
async function unreferenced(trx: Knex.Transaction, shas: string[]): Promise<string[]> {
  const live = new Set<string>();
  for (const chunk of chunks(shas, 500))
    for (const column of ['sha256', 'gzip_sha256', 'br_sha256']) {
      const rows = await trx('pages').whereIn(column, chunk).whereIn('op', ['put', 'gone']).distinct(column);
      for (const r of rows) live.add(r[column] as string);
    }
  return shas.filter((s) => !live.has(s)).sort();
}

interface OrphanMedia {
  sha256: string;
  /** Its live public paths (original and renditions). */
  paths: string[];
  /** The blobs those paths serve. */
  shas: string[];
}

/** Media the purged bodies showed that no visible article or event shows any more (lead image or body link). */
async function orphanedMedia(trx: Knex.Transaction, purgedBodies: string[]): Promise<OrphanMedia[]> {
  const linked = new Set<string>();
  for (const chunk of chunks(purgedBodies, 100)) {
    for (const row of await trx('blobs').whereIn('sha256', chunk).select('body')) {
      for (const m of Buffer.from(row.body as Buffer)
        .toString('utf8')
        .matchAll(MEDIA_LINK))
        linked.add(m[1]);
    }
  }
  const out: OrphanMedia[] = [];
  for (const sha256 of [...linked].sort()) {
    const media = await trx('media').where({ sha256 }).first('sha256');
    if (!media || (await stillShown(trx, sha256))) continue;
    // The original and every rendition, old or new, are named /media/SHA.ext and /media/SHA-WIDTH.ext (app/media/renditions.ts).
    const pages = await trx('pages')
      .where('path', 'like', `/media/${sha256}%`)
      .where({ op: 'put' })
      .select('path', 'sha256');
    out.push({ sha256, paths: pages.map((p) => p.path as string), shas: pages.map((p) => p.sha256 as string) });
  }
  return out;
}

/** Whether a visible item still shows the media: as its lead image, or linked from its body. */
async function stillShown(trx: Knex.Transaction, sha256: string): Promise<boolean> {
  const link = `%/media/${sha256}%`;
  const article = await trx('articles')
    .where({ status: 'published' })
    .whereNotNull('published_at')
    .where((q) => q.where({ lead_image: sha256 }).orWhere('body', 'like', link))
    .first('id');
  if (article) return true;
  const event = await trx('events')
    .where({ status: 'published' })
    .where((q) => q.where({ lead_image: sha256 }).orWhere('body', 'like', link))
    .first('id');
  return Boolean(event);
}

/** Media paths leave the site (404 everywhere), after the pages of the batch that stopped showing them. */
async function deleteMediaPages(
  trx: Knex.Transaction,
  lock: { epoch: number; head: number },
  batch: number,
  paths: string[],
  now: number,
): Promise<void> {
  for (const path of paths) {
    lock.head += 1;
    const change = { path, op: 'delete', sha256: null, size: 0, content_type: '', kind: 'media', last_modified: now };
    await trx('pages').where({ path }).delete();
    await trx('journal').insert({ ...change, seq: lock.head, epoch: lock.epoch, batch, created_at: now });
  }
  await trx('cluster_state').where({ id: 1 }).update({ journal_head: lock.head });
}

async function appendPurges(
  trx: Knex.Transaction,
  lock: { epoch: number; head: number },
  batch: number,
  purged: { sha256: string; kind: PageKind }[],
  now: number,
): Promise<void> {
  const first = lock.head + 1;
  const rows = purged.map(({ sha256, kind }) => {
    lock.head += 1;
    return {
      seq: lock.head,
      epoch: lock.epoch,
      batch,
      path: `${BLOB_PATH}${sha256}`,
      op: 'purge',
      sha256,
      size: 0,
      content_type: '',
      kind,
      last_modified: now,
      created_at: now,
    };
  });
  for (const chunk of chunks(rows, 200)) await trx('journal').insert(chunk);
  await trx('cluster_state').where({ id: 1 }).update({ journal_head: lock.head });
  const shas = purged.map((p) => p.sha256);
  for (const chunk of chunks(shas, 500)) {
    await trx('blobs').whereIn('sha256', chunk).delete();
    await trx('purged_blobs').whereIn('sha256', chunk).delete();
    await scrubJournal(trx, chunk, first);
  }
  for (const chunk of chunks(rows, 200))
    await trx('purged_blobs').insert(chunk.map((r) => ({ sha256: r.sha256, seq: r.seq, purged_at: now })));
}

/**
 * Rewrites every earlier entry that named one of `shas` as a body to what its
 * path serves now: the current tombstone or page, or `delete` when nothing is
 * there. A mirror replaying from 0 then needs no purged blob and ends where
 * the site is; the origin signs batches as it serves them, so the rewritten
 * history carries valid signatures.
 */
async function scrubJournal(trx: Knex.Transaction, shas: string[], before: number): Promise<void> {
  const rows = await trx('journal')
    .whereIn('sha256', shas)
    .whereIn('op', ['put', 'gone'])
    .where('seq', '<', before)
    .distinct('path');
  for (const { path } of rows as { path: string }[]) {
    const now = await trx('pages')
      .where({ path })
      .first('op', 'sha256', 'size', 'content_type', 'last_modified', ...VARIANT_COLUMNS);
    // The variants go with the body: a replay must not name a purged encoding either.
    const replacement =
      now && (now.op === 'put' || now.op === 'gone')
        ? {
            op: now.op,
            sha256: now.sha256,
            size: now.size,
            content_type: now.content_type,
            last_modified: now.last_modified,
            ...Object.fromEntries(VARIANT_COLUMNS.map((c) => [c, now[c] ?? null])),
          }
        : { op: 'delete', sha256: null, size: 0, content_type: '', ...variantColumns(undefined) };
    await trx('journal')
      .where({ path })
      .whereIn('sha256', shas)
      .whereIn('op', ['put', 'gone'])
      .where('seq', '<', before)
      .update(replacement);
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
