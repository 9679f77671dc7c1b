// `hyperstatic bundle export`: the site as a bundle (common/bundle-format.ts),
// written on the origin because only the origin holds what a bundle proves
// itself with: the site key signing the manifest (app/feed/manifest.ts, the
// same bytes GET /manifest serves) and a heartbeat. Bounded memory: the
// manifest is streamed to disk one keyset page at a time, each page's blob
// is read from the database in small groups, and nginx.conf and objects.json
// are generated afterwards by re-reading the manifest file.
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Database } from '../../common/db/database';
import {
  BUNDLE_FORMAT,
  bundleFileOf,
  manifestFilePages,
  metaFile,
  nginxConfig,
  objectsJson,
  type BundleInfo,
  type NginxOptions,
} from '../../common/bundle-format';
import { parseManifestPage, type ManifestHead, type ManifestPage } from '../../common/feed-format';
import { signHeartbeat, siteSigner, type TrustBundle } from '../../common/trust/statements';
import { HEARTBEAT_MAX_VALID_MS } from '../../common/trust/trust-state';
import { BadRequestError } from '../../common/errors';
import { manifestLines } from '../feed/manifest';

/** Blob bodies read per query stay under this many bytes (media can be large). */
const GROUP_BYTES = 8 * 1024 * 1024;
const GROUP_ROWS = 200;

export interface ExportOptions {
  db: Database;
  signingKey: KeyObject;
  trust: TrustBundle;
  out: string;
  /** Uploaded media (MEDIA_DIR): their files are not in `blobs` (app/media/media-store.ts). */
  mediaDir?: string;
  /** Only pages changed after this journal entry; 0 (default) for the whole site. */
  since?: number;
  /** How long the bundle's heartbeat vouches for it (at most 30 days). */
  validForMs: number;
  nginx?: Partial<NginxOptions>;
  now?: () => number;
}

export interface ExportResult extends BundleInfo {
  out: string;
  seconds: number;
}

/** Refuses an OUT that exists and is not an empty directory: a bundle is never mixed with other files. */
function prepareOut(out: string): void {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)
      throw new BadRequestError(`${out} exists and is not an empty directory`, 'OUT');
  }
  fs.mkdirSync(path.join(out, metaFile('info'), '..'), { recursive: true });
}

/** Writes generated text, gathered into 256 KiB writes (one per object line would be a thread-pool hop each). */
async function writeChunks(file: string, chunks: AsyncIterable<string>): Promise<void> {
  await pipeline(
    Readable.from(
      (async function* () {
        let pending = '';
        for await (const chunk of chunks) {
          pending += chunk;
          if (pending.length >= 256 * 1024) {
            yield pending;
            pending = '';
          }
        }
        if (pending !== '') yield pending;
      })(),
    ),
    fs.createWriteStream(file, { flags: 'wx' }),
  );
}

export async function exportBundle(options: ExportOptions): Promise<ExportResult> {
  const started = Date.now();
  const now = options.now ?? Date.now;
  const since = options.since ?? 0;
  if (!Number.isSafeInteger(since) || since < 0)
    throw new BadRequestError('--since must be a journal entry number (0 or more)', 'since');
  if (options.validForMs <= 0 || options.validForMs > HEARTBEAT_MAX_VALID_MS)
    throw new BadRequestError('--valid-for must be more than 0 and at most 30 days', 'valid-for');
  const out = path.resolve(options.out);
  const state = await options.db('cluster_state').where({ id: 1 }).first('journal_head');
  if (since > Number(state?.journal_head ?? 0))
    throw new BadRequestError(
      `--since ${since} is after the journal head ${Number(state?.journal_head ?? 0)}`,
      'since',
    );
  prepareOut(out);
  try {
    return await writeBundle(options, out, since, now, started);
  } catch (error) {
    // A half-written bundle must not be mistaken for one: OUT was empty (or absent) before.
    fs.rmSync(out, { recursive: true, force: true });
    throw error;
  }
}

async function writeBundle(
  options: ExportOptions,
  out: string,
  since: number,
  now: () => number,
  started: number,
): Promise<ExportResult> {
  const writer = createSiteWriter(options.db, out, options.mediaDir);
  let head: ManifestHead | undefined;
  const manifestFile = path.join(out, metaFile('manifest'));
  const manifestOut = fs.createWriteStream(manifestFile, { flags: 'wx' });
  try {
    for await (const chunk of manifestLines(options.db, options.signingKey, options.trust)) {
      if (!manifestOut.write(chunk)) await new Promise<void>((resolve) => manifestOut.once('drain', () => resolve()));
      const lines = chunk.split('\n').filter((l) => l !== '');
      const pages: ManifestPage[] = [];
      for (const line of lines) {
        const value = JSON.parse(line) as { type?: string };
        if (value.type === 'head') head = value as ManifestHead;
        else if (value.type !== 'end') pages.push(parseManifestPage(value));
      }
      await writer.write(pages.filter((p) => p.seq > since));
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      manifestOut.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  if (!head) throw new Error('the manifest had no head line');
  const signer = siteSigner(options.signingKey);
  const time = now();
  const heartbeat = signHeartbeat(
    { epoch: head.epoch, head: head.cursor, time, validUntil: time + options.validForMs },
    signer,
  );
  fs.writeFileSync(path.join(out, metaFile('heartbeat')), `${JSON.stringify(heartbeat)}\n`, { flag: 'wx' });
  fs.writeFileSync(path.join(out, metaFile('trust')), `${JSON.stringify(options.trust)}\n`, { flag: 'wx' });
  const nginx: NginxOptions = { root: options.nginx?.root ?? out, listen: options.nginx?.listen ?? '80' };
  const pages = () => manifestFilePages(manifestFile, parseManifestPage);
  const summary = { epoch: head.epoch, cursor: head.cursor, since };
  await writeChunks(path.join(out, metaFile('objects')), objectsJson(pages(), summary));
  await writeChunks(path.join(out, metaFile('nginx')), nginxConfig(pages, { ...nginx, ...summary }));
  const info: BundleInfo = {
    format: BUNDLE_FORMAT,
    ...summary,
    pages: head.pages ?? 0,
    files: writer.files(),
    bytes: writer.bytes(),
    created: time,
    nginx,
  };
  fs.writeFileSync(path.join(out, metaFile('info')), `${JSON.stringify(info, null, 2)}\n`, { flag: 'wx' });
  return { ...info, out, seconds: (Date.now() - started) / 1000 };
}

/**
 * Writes pages' bodies at their bundle paths, reading blobs a bounded group at
 * a time; media files (originals and their renditions) are copied from the
 * media folder, as the origin's /blobs route serves them.
 */
function createSiteWriter(db: Database, out: string, mediaDir: string | undefined) {
  const made = new Set<string>();
  let files = 0;
  let bytes = 0;

  function mediaFile(sha256: string): string | undefined {
    if (!mediaDir) return undefined;
    const file = path.join(mediaDir, sha256);
    return fs.existsSync(file) ? file : undefined;
  }

  async function writeGroup(group: ManifestPage[]): Promise<void> {
    const rows = (await db('blobs')
      .whereIn(
        'sha256',
        group.map((p) => p.sha256),
      )
      .select('sha256', 'body')) as { sha256: string; body: Buffer }[];
    const bodies = new Map(rows.map((r) => [r.sha256, r.body]));
    for (const page of group) {
      const body = bodies.get(page.sha256);
      const media = body ? undefined : mediaFile(page.sha256);
      if (!body && !media)
        throw new Error(`the blob of ${page.path} (${page.sha256}) is missing from the database and the media folder`);
      const file = bundleFileOf(page.path);
      const dir = path.posix.dirname(file);
      if (!made.has(dir)) {
        fs.mkdirSync(path.join(out, dir), { recursive: true });
        made.add(dir);
      }
      // `wx`/EXCL: two paths mapping to one file would otherwise overwrite each other silently. Synchronous:
      // a one-shot command with nothing else to do, and a thread-pool hop per file dominated the time on a busy machine.
      if (body) fs.writeFileSync(path.join(out, file), body, { flag: 'wx' });
      else fs.copyFileSync(media!, path.join(out, file), fs.constants.COPYFILE_EXCL);
      files += 1;
      bytes += body ? body.length : page.size;
    }
  }

  return {
    async write(pages: ManifestPage[]): Promise<void> {
      let group: ManifestPage[] = [];
      let groupBytes = 0;
      for (const page of pages) {
        if (group.length > 0 && (groupBytes + page.size > GROUP_BYTES || group.length >= GROUP_ROWS)) {
          await writeGroup(group);
          group = [];
          groupBytes = 0;
        }
        group.push(page);
        groupBytes += page.size;
      }
      if (group.length > 0) await writeGroup(group);
    },
    files: () => files,
    bytes: () => bytes,
  };
}
