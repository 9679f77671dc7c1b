// Media go public with the first visible item that shows them (issue 17:
// an image uploaded for an embargoed story must not reach a mirror before
// the story). A save that leaves an article or event published journals,
// in its own transaction, the media it shows (lead image, or linked from
// its body) that are not live yet: the original and its rendition, before
// the render that links them (the render is owed by the same transaction
// and journaled after it), so a mirror still holds a file before any page
// links it. A story scheduled for later shows its media only when the
// scheduler's save publishes it; cancelled before, they never go out. Taking
// the last item that shows them down removes them again (producer/takedown.ts).
import type { Knex } from 'knex';
import { appendMedia, MediaEntry } from './media-journal';

/** Media paths are `/media/SHA.ext` and `/media/SHA-WIDTH.webp|avif` (media-store.ts): the original's hash names them all. */
const MEDIA_LINK = /\/media\/([0-9a-f]{64})[-.]/g;

/** The media hashes an item shows: its lead image and every media path its body links. */
export function mediaShown(row: { lead_image?: unknown; body?: unknown }): string[] {
  const shown = new Set<string>();
  if (typeof row.lead_image === 'string') shown.add(row.lead_image);
  for (const m of String(row.body ?? '').matchAll(MEDIA_LINK)) shown.add(m[1]);
  return [...shown].sort();
}

/**
 * Journals the media a saved item shows, when it is published and they are
 * not live yet; nothing for a draft, a scheduled or a hidden item. Returns
 * the new journal head, or undefined when nothing was journaled.
 */
export async function journalShownMedia(
  trx: Knex.Transaction,
  row: { status?: unknown; lead_image?: unknown; body?: unknown },
  now: number,
): Promise<number | undefined> {
  if (row.status !== 'published') return undefined;
  const shown = mediaShown(row);
  if (shown.length === 0) return undefined;
  const media = await trx('media')
    .whereIn('sha256', shown)
    .select(
      'sha256',
      'path',
      'size',
      'content_type',
      'created_at',
      'rendition_path',
      'rendition_sha256',
      'rendition_size',
      'renditions',
    );
  const entries: MediaEntry[] = media.flatMap((m) => {
    const lastModified = Number(m.created_at);
    const original = {
      path: String(m.path),
      sha256: String(m.sha256),
      size: Number(m.size),
      contentType: String(m.content_type),
      lastModified,
    };
    const files: MediaEntry[] = [original];
    // Responsive renditions (app/media/renditions.ts), each named on the row with its hash and size.
    for (const r of renditionsOf(m.renditions)) files.push({ ...r, lastModified });
    // An upload from before them has one 480 px WebP, in the rendition_* columns (also the listing's pick of the new ones).
    if (m.rendition_path && m.rendition_sha256 && !files.some((f) => f.path === m.rendition_path))
      files.push({
        path: String(m.rendition_path),
        sha256: String(m.rendition_sha256),
        size: Number(m.rendition_size),
        contentType: 'image/webp',
        lastModified,
      });
    return files;
  });
  if (entries.length === 0) return undefined;
  // The journal lock only when something is missing: most saves show media already live.
  const live = await trx('pages')
    .whereIn(
      'path',
      entries.map((e) => e.path),
    )
    .where({ op: 'put' })
    .select('path', 'sha256');
  const liveAs = new Map(live.map((p) => [String(p.path), String(p.sha256)]));
  const missing = entries.filter((e) => liveAs.get(e.path) !== e.sha256);
  return missing.length > 0 ? appendMedia(trx, missing, now) : undefined;
}

/** The renditions listed on a media row that carry what journaling needs (hash and size). */
function renditionsOf(value: unknown): Omit<MediaEntry, 'lastModified'>[] {
  if (typeof value !== 'string') return [];
  const listed = JSON.parse(value) as { path: string; contentType: string; sha256?: string; size?: number }[];
  return listed.flatMap((r) =>
    r.sha256 && r.size !== undefined
      ? [{ path: r.path, sha256: r.sha256, size: r.size, contentType: r.contentType }]
      : [],
  );
}
