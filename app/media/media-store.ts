// Uploaded media: streamed to a temporary file while its sha256 is computed
// (never held whole in memory), refused past the size limit or when its
// first bytes are not an image, audio or video format we accept, then
// renamed to MEDIA_DIR/<sha256> (content-addressed: the same file uploaded
// twice is stored once). Images get a 480 px wide WebP rendition for index
// pages (sharp). Neither is journaled here: they go to the mirrors with the
// first visible item that shows them (app/media/shown-media.ts).
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import sharp from 'sharp';
import type { Database } from '../../common/db/database';
import { SHA256_HEX } from '../../common/hash';
import { PayloadTooLargeError, UnsupportedTypeError } from '../auth/auth-errors';
import { NotFoundError } from '../errors';
import { cleanFileName, sniff, SNIFF_BYTES } from './sniff';

export const RENDITION_WIDTH = 480;

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
  renditionPath: string | null;
  renditionWidth: number | null;
  renditionHeight: number | null;
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
}

export interface MediaStoreDeps {
  db: Database;
  dir: string;
  maxBytes: number;
  now?: () => number;
}

export function createMediaStore(deps: MediaStoreDeps): MediaStore {
  const { db, dir, maxBytes, now = Date.now } = deps;
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
        await storeFile(dir, tmp, sha256);
        if (!(await db('media').where({ sha256 }).first('sha256'))) {
          const small = type.kind === 'image' ? await rendition(dir, tmpDir, path.join(dir, sha256)) : undefined;
          await recordMedia(deps, { sha256, size, type, name: cleanFileName(name), userId, small }, now());
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
      const media = await db('media')
        .where({ sha256 })
        .first('path as path')
        .then(
          async (m) => m ?? (await db('media').where({ rendition_sha256: sha256 }).first('rendition_path as path')),
        );
      const live = media && (await db('pages').where({ path: media.path, op: 'put', sha256 }).first('path'));
      return live ? storedFile(dir, sha256) : undefined;
    },
    file: (sha256) => storedFile(dir, sha256),
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

interface Rendition {
  sha256: string;
  size: number;
  width: number;
  height: number;
  renditionWidth: number;
  renditionHeight: number;
}

/** The index pages' WebP rendition of an image, stored beside it; undefined when the image does not decode. */
async function rendition(dir: string, tmpDir: string, source: string): Promise<Rendition | undefined> {
  try {
    const meta = await sharp(source, { failOn: 'error' }).metadata();
    const { data: body, info } = await sharp(source, { failOn: 'error' })
      .rotate()
      .resize({ width: RENDITION_WIDTH, withoutEnlargement: true })
      .webp({ quality: 78 })
      .toBuffer({ resolveWithObject: true });
    const sha256 = createHash('sha256').update(body).digest('hex');
    const tmp = path.join(tmpDir, randomBytes(8).toString('hex'));
    await fs.writeFile(tmp, body);
    await storeFile(dir, tmp, sha256);
    // The size a browser lays out: after EXIF rotation (a portrait phone photo is stored landscape).
    const shown = meta.autoOrient;
    return {
      sha256,
      size: body.length,
      width: shown.width,
      height: shown.height,
      renditionWidth: info.width,
      renditionHeight: info.height,
    };
  } catch {
    // A file that starts like an image but does not decode: keep the
    // original (it is still checked and inert), skip the rendition.
    return undefined;
  }
}

interface NewMedia {
  sha256: string;
  size: number;
  type: { kind: MediaItem['kind']; contentType: string; ext: string };
  name: string;
  userId: number | null;
  small: Rendition | undefined;
}

/** The media row, with what journaling the file and its rendition needs once a visible item shows them. */
async function recordMedia({ db }: MediaStoreDeps, media: NewMedia, at: number): Promise<void> {
  const { sha256, size, type, small } = media;
  const publicPath = `/media/${sha256}.${type.ext}`;
  const renditionPath = small ? `/media/${sha256}-${RENDITION_WIDTH}.webp` : null;
  await db('media')
    .insert({
      sha256,
      kind: type.kind,
      content_type: type.contentType,
      path: publicPath,
      size,
      original_name: media.name,
      width: small?.width ?? null,
      height: small?.height ?? null,
      rendition_path: renditionPath,
      rendition_width: small?.renditionWidth ?? null,
      rendition_height: small?.renditionHeight ?? null,
      rendition_sha256: small?.sha256 ?? null,
      rendition_size: small?.size ?? null,
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
    uploadedBy: (row.user_name as string | null) ?? null,
    createdAt: Number(row.created_at),
  };
}
