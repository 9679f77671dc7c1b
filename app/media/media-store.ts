// Uploaded media: streamed to a temporary file while its sha256 is computed
// (never held whole in memory), refused past the size limit or when its
// first bytes are not an image, audio or video format we accept, then
// renamed to MEDIA_DIR/<sha256> (content-addressed: the same file uploaded
// twice is stored once). Images get responsive renditions (several widths,
// AVIF and WebP: app/media/renditions.ts), stored beside the original by
// their own sha256; an image that does not decode is refused with nothing
// stored. Neither the original nor its renditions are journaled here: they
// go to the mirrors with the first visible item that shows them
// (app/media/shown-media.ts).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Database } from '../../common/db/database';
import { SHA256_HEX } from '../../common/hash';
import { PayloadTooLargeError, UnsupportedTypeError } from '../auth/auth-errors';
import { NotFoundError } from '../errors';
import { journalMedia, MediaEntry } from './media-journal';
import {
  concurrencyLimit,
  listingRendition,
  makeRenditions,
  renditionPath,
  type RenditionInfo,
  type Renditions,
} from './renditions';
import { cleanFileName, sniff, SNIFF_BYTES } from './sniff';

export interface MediaItem {
  sha256: string;
  kind: 'image' | 'audio' | 'video';
  contentType: string;
  /** Public path on the site (mirrors and proxies serve it). */
  path: string;
  size: number;
  originalName: string;
  width: number | null;
  height: number | null;
  /** The WebP rendition the editor lists (app/media/renditions.ts listingRendition). */
  renditionPath: string | null;
  renditionWidth: number | null;
  renditionHeight: number | null;
  /** Every rendition (widths × AVIF/WebP); null for an image uploaded before they existed and not yet given them. */
  renditions: RenditionInfo[] | null;
  uploadedBy: string | null;
  createdAt: number;
}

export interface MediaStore {
  readonly dir: string;
  /** Stores a stream; `tooLarge` is set by callers whose parser truncates (busboy) instead of erroring. */
  ingest(
    input: Readable,
    options: { name: string; userId: number | null; truncated?: () => boolean },
  ): Promise<MediaItem>;
  list(options: { limit: number; offset: number; kind?: string }): Promise<MediaItem[]>;
  get(sha256: string): Promise<MediaItem>;
  /** Absolute path of a stored file by hash, if present. */
  file(sha256: string): Promise<string | undefined>;
  /**
   * file(), only once the journal has it live (a visible item shows it,
   * app/media/shown-media.ts): what the origin serves mirrors at /blobs/SHA.
   * An upload only an embargoed or draft item shows is not served.
   */
  liveFile(sha256: string): Promise<string | undefined>;
  /**
   * Makes the renditions of images uploaded before responsive images (their
   * `renditions` is NULL), one image at a time, journaling each; running it
   * again does nothing more. Pages show them once re-rendered (`hyperstatic rebuild`).
   */
  addMissingRenditions(onImage?: (done: MissingRenditionsResult) => void): Promise<MissingRenditionsResult>;
}

export interface MissingRenditionsResult {
  /** Images given renditions. */
  made: number;
  /** Images whose file is missing from MEDIA_DIR or no longer decodes (left as they were). */
  failed: { sha256: string; reason: string }[];
  /** Images still to do. */
  remaining: number;
}

export interface MediaStoreDeps {
  db: Database;
  dir: string;
  maxBytes: number;
  /** Images whose renditions are made at once (MEDIA_RENDITION_CONCURRENCY); default 2. */
  renditionConcurrency?: number;
  onJournaled?: (head: number) => void;
  now?: () => number;
}

export function createMediaStore(deps: MediaStoreDeps): MediaStore {
  const { db, dir, maxBytes, now = Date.now } = deps;
  const limit = concurrencyLimit(deps.renditionConcurrency ?? 2);
  const tmpDir = path.join(dir, 'tmp');
  let ready: Promise<void> | undefined;
  const ensureDirs = () => (ready ??= fs.mkdir(tmpDir, { recursive: true }).then(() => undefined));
  const select = () =>
    db('media').leftJoin('users', 'users.id', 'media.uploaded_by').select('media.*', 'users.name as user_name');

  return {
    dir,
    async ingest(input, { name, userId, truncated }) {
      await ensureDirs();
      const tmp = path.join(tmpDir, randomBytes(12).toString('hex'));
      try {
        const { size, head, sha256 } = await receive(input, tmp, maxBytes);
        if (truncated?.()) throw new PayloadTooLargeError(`the file is larger than the ${maxBytes} byte limit`);
        if (size === 0) throw new UnsupportedTypeError('the file is empty');
        const type = sniff(head);
        if (!type)
          throw new UnsupportedTypeError(
            'the file is not an image, audio or video format this site accepts (JPEG, PNG, GIF, WebP, AVIF, MP3, OGG, WAV, FLAC, M4A, MP4, WebM, MOV); its name and declared type are not trusted',
          );
        const known = await db('media').where({ sha256 }).first('sha256');
        // Decoded before anything is stored: an image that does not decode leaves no file and no row.
        const images = !known && type.kind === 'image' ? await limit(() => decodable(tmp)) : undefined;
        await storeFile(dir, tmp, sha256);
        if (!known) {
          const renditions = images ? await storeRenditions(dir, tmpDir, sha256, images) : undefined;
          await recordMedia(deps, { sha256, size, type, name: cleanFileName(name), userId, renditions }, now());
        }
        const [row] = await select().where('media.sha256', sha256);
        return toItem(row);
      } finally {
        await fs.rm(tmp, { force: true });
      }
    },
    async list({ limit, offset, kind }) {
      const query = select().orderBy('media.created_at', 'desc').limit(limit).offset(offset);
      if (kind) query.where('media.kind', kind);
      return (await query).map(toItem);
    },
    async get(sha256) {
      const [row] = SHA256_HEX.test(sha256) ? await select().where('media.sha256', sha256) : [];
      if (!row) throw new NotFoundError(`media ${sha256}`);
      return toItem(row);
    },
    async liveFile(sha256) {
      if (!SHA256_HEX.test(sha256)) return undefined;
      // An original by its row; a rendition by the journal entry that made it live (its row lists renditions by path only).
      const media =
        (await db('media').where({ sha256 }).first('path')) ??
        (await db('journal').where({ sha256 }).where('path', 'like', '/media/%').orderBy('seq', 'desc').first('path'));
      const live = media && (await db('pages').where({ path: media.path, op: 'put', sha256 }).first('path'));
      return live ? storedFile(dir, sha256) : undefined;
    },
    file: (sha256) => storedFile(dir, sha256),
    async addMissingRenditions(onImage) {
      await ensureDirs();
      return addMissingRenditions(deps, tmpDir, limit, onImage);
    },
  };
}

async function storedFile(dir: string, sha256: string): Promise<string | undefined> {
  if (!SHA256_HEX.test(sha256)) return undefined;
  const file = path.join(dir, sha256);
  try {
    await fs.access(file);
    return file;
  } catch {
    return undefined;
  }
}

/** MediaStore.addMissingRenditions: images with no renditions listed, oldest first, one at a time. */
async function addMissingRenditions(
  deps: MediaStoreDeps,
  tmpDir: string,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
  onImage: ((done: MissingRenditionsResult) => void) | undefined,
): Promise<MissingRenditionsResult> {
  const { db, dir, now = Date.now } = deps;
  const result: MissingRenditionsResult = { made: 0, failed: [], remaining: 0 };
  const todo = await db('media')
    .where({ kind: 'image' })
    .whereNull('renditions')
    .orderBy('created_at')
    .select('sha256');
  result.remaining = todo.length;
  for (const { sha256 } of todo as { sha256: string }[]) {
    result.remaining -= 1;
    try {
      const images = await limit(() => makeRenditions(path.join(dir, sha256)));
      const stored = await storeRenditions(dir, tmpDir, sha256, images);
      await recordRenditions(deps, sha256, stored, now());
      result.made += 1;
    } catch (error) {
      result.failed.push({ sha256, reason: (error as Error).message });
    }
    onImage?.(result);
  }
  return result;
}

/** Streams `input` to `tmp`, hashing it and keeping its first bytes for sniffing; refuses more than `maxBytes`. */
async function receive(
  input: Readable,
  tmp: string,
  maxBytes: number,
): Promise<{ size: number; head: Buffer; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(new PayloadTooLargeError(`the file is larger than the ${maxBytes} byte limit`));
        return;
      }
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(input, meter, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
  return { size, head, sha256: hash.digest('hex') };
}

/** Moves a received file to its content address; the same content already there wins. */
async function storeFile(dir: string, tmp: string, sha256: string): Promise<void> {
  const final = path.join(dir, sha256);
  try {
    await fs.access(final);
    await fs.rm(tmp, { force: true });
  } catch {
    await fs.rename(tmp, final);
  }
}

/** The renditions of a received image, refusing (415, field `file`) one that does not decode. */
async function decodable(file: string): Promise<Renditions> {
  try {
    return await makeRenditions(file);
  } catch (error) {
    throw new UnsupportedTypeError(
      // libvips repeats its complaint line by line; the first says it.
      `file: the content starts like an image but does not decode (${(error as Error).message.split('\n')[0]}); nothing was stored`,
      'file',
    );
  }
}

interface StoredRenditions {
  width: number;
  height: number;
  list: (RenditionInfo & { sha256: string; size: number })[];
}

/** Writes each rendition to its content address in the media folder. */
async function storeRenditions(
  dir: string,
  tmpDir: string,
  original: string,
  images: Renditions,
): Promise<StoredRenditions> {
  const list: StoredRenditions['list'] = [];
  for (const file of images.files) {
    const sha256 = createHash('sha256').update(file.body).digest('hex');
    const tmp = path.join(tmpDir, randomBytes(8).toString('hex'));
    await fs.writeFile(tmp, file.body);
    await storeFile(dir, tmp, sha256);
    const { contentType, width, height } = file;
    list.push({ path: renditionPath(original, file), contentType, width, height, sha256, size: file.body.length });
  }
  return { width: images.width, height: images.height, list };
}

/** The journal entries of an image's renditions. */
function renditionEntries(stored: StoredRenditions, at: number): MediaEntry[] {
  return stored.list.map((r) => ({
    path: r.path,
    sha256: r.sha256,
    size: r.size,
    contentType: r.contentType,
    lastModified: at,
  }));
}

/** The media columns that describe an image's renditions. */
function renditionColumns(stored: StoredRenditions) {
  const listed = listingRendition(stored.list);
  return {
    width: stored.width,
    height: stored.height,
    rendition_path: listed?.path ?? null,
    rendition_width: listed?.width ?? null,
    rendition_height: listed?.height ?? null,
    rendition_sha256: listed?.sha256 ?? null,
    rendition_size: listed?.size ?? null,
    // sha256 and size: what journaling them needs when a visible item first shows the image (shown-media.ts).
    renditions: JSON.stringify(
      stored.list.map(({ path, contentType, width, height, sha256, size }) => ({
        path,
        contentType,
        width,
        height,
        sha256,
        size,
      })),
    ),
  };
}

/**
 * An older upload's new renditions, listed on its row. When a visible item
 * already shows the image (its original is live) they are journaled first,
 * so mirrors hold them before a page names them; otherwise they go out with
 * the image, when an item showing it is published (shown-media.ts).
 */
async function recordRenditions(
  { db, onJournaled }: MediaStoreDeps,
  sha256: string,
  stored: StoredRenditions,
  at: number,
): Promise<void> {
  // Listed first: a save publishing the image from now on journals them with it (shown-media.ts), so
  // the check below and such a save cannot both miss them.
  await db('media').where({ sha256 }).update(renditionColumns(stored));
  const media = await db('media').where({ sha256 }).first('path');
  const live = media && (await db('pages').where({ path: media.path, op: 'put', sha256 }).first('path'));
  if (live) {
    const journalHead = await journalMedia(db, renditionEntries(stored, at), at);
    if (journalHead !== undefined) onJournaled?.(journalHead);
  }
}

interface NewMedia {
  sha256: string;
  size: number;
  type: { kind: MediaItem['kind']; contentType: string; ext: string };
  name: string;
  userId: number | null;
  renditions: StoredRenditions | undefined;
}

/** The media row; the file and its renditions are journaled once a visible item shows them (shown-media.ts). */
async function recordMedia({ db }: MediaStoreDeps, media: NewMedia, at: number): Promise<void> {
  const { sha256, size, type, renditions } = media;
  const publicPath = `/media/${sha256}.${type.ext}`;
  await db('media')
    .insert({
      sha256,
      kind: type.kind,
      content_type: type.contentType,
      path: publicPath,
      size,
      original_name: media.name,
      width: null,
      height: null,
      rendition_path: null,
      rendition_width: null,
      rendition_height: null,
      // Audio and video have no renditions to make: an empty list, not NULL ("not made yet").
      renditions: '[]',
      ...(renditions ? renditionColumns(renditions) : {}),
      uploaded_by: media.userId,
      created_at: at,
    })
    .onConflict('sha256')
    .ignore();
}

function toItem(row: Record<string, unknown>): MediaItem {
  return {
    sha256: row.sha256 as string,
    kind: row.kind as MediaItem['kind'],
    contentType: row.content_type as string,
    path: row.path as string,
    size: Number(row.size),
    originalName: row.original_name as string,
    width: row.width == null ? null : Number(row.width),
    height: row.height == null ? null : Number(row.height),
    renditionPath: (row.rendition_path as string | null) ?? null,
    renditionWidth: row.rendition_width == null ? null : Number(row.rendition_width),
    renditionHeight: row.rendition_height == null ? null : Number(row.rendition_height),
    renditions: parseRenditions(row.renditions),
    uploadedBy: (row.user_name as string | null) ?? null,
    createdAt: Number(row.created_at),
  };
}

/** `media.renditions` as stored (JSON text); null when not made yet. */
export function parseRenditions(value: unknown): RenditionInfo[] | null {
  if (typeof value !== 'string') return null;
  return JSON.parse(value) as RenditionInfo[];
}
