// `hyperstatic bundle verify` and the first step of `mirror --from-bundle`:
// checks a bundle (common/bundle-format.ts) offline against the trust anchor
// a mirror pins (docs/trust.md). Refused: a manifest whose end line is not
// signed by a delegated site key (or the pinned one), a heartbeat that is
// forged or past its valid-until, a manifest path that could leave the
// bundle, a symlink or special file anywhere in it, a page file missing,
// changed by one byte or left over, and an objects.json or nginx.conf that is
// not the one the manifest yields. Each problem names the file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  bundleFileOf,
  fileLines,
  manifestFilePages,
  metaFile,
  nginxConfig,
  objectsJson,
  type BundleInfo,
} from '../../common/bundle-format';
import { HyperstaticError } from '../../common/errors';
import { manifestHasher, parseManifestPage, type ManifestHead } from '../../common/feed-format';
import { heartbeatPayload, parseHeartbeat, type Heartbeat } from '../../common/trust/statements';
import type { TrustState } from '../../common/trust/trust-state';
import { verifyManifestEnd } from '../manifest-sync';

/** How many problems a refusal lists (a wholly foreign directory would otherwise list every file). */
const MAX_PROBLEMS = 20;

export class BundleRefusedError extends HyperstaticError {
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(
      'HS_BUNDLE_REFUSED',
      422,
      `bundle ${dir} refused:\n${problems.map((p) => `  - ${p}`).join('\n')}${problems.length >= MAX_PROBLEMS ? '\n  (further problems not listed)' : ''}`,
    );
  }
}

export interface VerifiedBundle {
  dir: string;
  info: BundleInfo;
  epoch: number;
  cursor: number;
  since: number;
  /** Live pages the manifest names. */
  pages: number;
  /** Page files checked by hash. */
  files: number;
  heartbeat: Heartbeat;
}

class Problems {
  readonly list: string[] = [];
  add(problem: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(problem);
  }
  full(): boolean {
    return this.list.length >= MAX_PROBLEMS;
  }
}

/** Every regular file under `root` (relative, `/`-separated); symlinks and special files are problems, never followed. */
async function walk(root: string, problems: Problems): Promise<Set<string>> {
  const files = new Set<string>();
  const pending = [''];
  while (pending.length > 0) {
    const relative = pending.pop() as string;
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isSymbolicLink()) problems.add(`${name} is a symlink (a bundle holds only regular files)`);
      else if (entry.isDirectory()) pending.push(name);
      else if (entry.isFile()) files.add(name);
      else problems.add(`${name} is not a regular file`);
    }
  }
  return files;
}

/** Files up to this size are read in one synchronous call (a thread-pool hop per page dominated verify's time). */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

async function sha256OfFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  if (fs.statSync(file).size <= READ_WHOLE_BYTES) {
    const bytes = fs.readFileSync(file);
    return { sha256: hash.update(bytes).digest('hex'), size: bytes.length };
  }
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function sha256OfChunks(chunks: AsyncIterable<string>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) hash.update(chunk, 'utf8');
  return hash.digest('hex');
}

function readJson(root: string, name: keyof typeof BUNDLE_FILES, problems: Problems): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, metaFile(name)), 'utf8')) as unknown;
  } catch (error) {
    problems.add(`${metaFile(name)} cannot be read: ${(error as Error).message}`);
    return undefined;
  }
}

function parseInfo(value: unknown, problems: Problems): BundleInfo | undefined {
  const info = value as BundleInfo | undefined;
  if (!info) return undefined;
  if (
    info.format !== BUNDLE_FORMAT ||
    !Number.isSafeInteger(info.since) ||
    info.since < 0 ||
    typeof info.nginx?.root !== 'string' ||
    typeof info.nginx.listen !== 'string'
  ) {
    problems.add(`${metaFile('info')} is not a ${BUNDLE_FORMAT} description (format, since, nginx)`);
    return undefined;
  }
  return info;
}

/** Checks the bundle at `dir`; throws BundleRefusedError naming every problem (up to 20). Nothing is written. */
export async function verifyBundle(
  dir: string,
  trust: TrustState,
  now: () => number = Date.now,
): Promise<VerifiedBundle> {
  const root = path.resolve(dir);
  const problems = new Problems();
  const top = fs.lstatSync(root, { throwIfNoEntry: false });
  if (!top || !top.isDirectory())
    throw new BundleRefusedError(root, [top?.isSymbolicLink() ? 'the bundle itself is a symlink' : 'not a directory']);
  const files = await walk(root, problems);
  for (const name of Object.keys(BUNDLE_FILES) as (keyof typeof BUNDLE_FILES)[]) {
    if (!files.delete(metaFile(name))) problems.add(`${metaFile(name)} is missing`);
  }
  if (problems.list.length > 0) throw new BundleRefusedError(root, problems.list);
  const info = parseInfo(readJson(root, 'info', problems), problems);
  const trustFile = readJson(root, 'trust', problems);
  if (trustFile !== undefined) {
    try {
      trust.absorb(trustFile);
    } catch (error) {
      problems.add(`${metaFile('trust')}: ${(error as Error).message}`);
    }
  }
  if (!info) throw new BundleRefusedError(root, problems.list);
  const manifest = await checkManifest(root, info, files, trust, problems);
  const heartbeat = checkHeartbeat(readJson(root, 'heartbeat', problems), manifest, trust, now(), problems);
  for (const extra of [...files].sort()) problems.add(`${extra} is not in the signed manifest (an extra file)`);
  if (manifest) await checkDerived(root, info, manifest, problems);
  if (problems.list.length > 0 || !manifest || !heartbeat) throw new BundleRefusedError(root, problems.list);
  return { dir: root, info, ...manifest, since: info.since, heartbeat };
}

/**
 * Streams manifest.ndjson: its hash chain and end-line signature, and every
 * page file the bundle must hold (changed after `since`), by size and sha256.
 */
async function checkManifest(
  root: string,
  info: BundleInfo,
  files: Set<string>,
  trust: TrustState,
  problems: Problems,
): Promise<{ epoch: number; cursor: number; pages: number; files: number } | undefined> {
  const name = metaFile('manifest');
  const hasher = manifestHasher();
  let head: ManifestHead | undefined;
  let end: { count: number; signature: unknown } | undefined;
  let pages = 0;
  let checked = 0;
  let lineNumber = 0;
  for await (const line of fileLines(path.join(root, name))) {
    lineNumber += 1;
    if (problems.full()) break;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      problems.add(`${name} line ${lineNumber} is not JSON`);
      continue;
    }
    if (end) {
      problems.add(`${name} continues after its end line`);
      break;
    }
    if (!head) {
      if (value.type !== 'head' || !Number.isSafeInteger(value.epoch) || !Number.isSafeInteger(value.cursor)) {
        problems.add(`${name} does not start with a head line`);
        return undefined;
      }
      head = value as unknown as ManifestHead;
      if (value.trust !== undefined) trust.absorb(value.trust);
      hasher.update(`${line}\n`);
      continue;
    }
    if (value.type === 'end') {
      end = { count: Number(value.count), signature: value.signature };
      continue;
    }
    hasher.update(`${line}\n`);
    pages += 1;
    if (await checkPage(root, info.since, files, value, `${name} line ${lineNumber}`, problems)) checked += 1;
  }
  if (!head) {
    problems.add(`${name} is empty`);
    return undefined;
  }
  if (!end) {
    problems.add(`${name} was cut short (no end line)`);
    return undefined;
  }
  if (end.count !== pages) problems.add(`${name} end line counts ${end.count} pages, ${pages} are listed`);
  try {
    verifyManifestEnd(trust, hasher.digest(), end.signature, head.epoch);
  } catch (error) {
    problems.add(`${name}: wrong signature: ${(error as Error).message}`);
  }
  if (info.epoch !== head.epoch || info.cursor !== head.cursor)
    problems.add(
      `${metaFile('info')} names epoch ${info.epoch} cursor ${info.cursor}, the manifest ${head.epoch} ${head.cursor}`,
    );
  return { epoch: head.epoch, cursor: head.cursor, pages, files: checked };
}

/** One page line: a file the bundle must hold (changed after `since`) is there, by size and sha256. True when hashed. */
async function checkPage(
  root: string,
  since: number,
  files: Set<string>,
  value: unknown,
  where: string,
  problems: Problems,
): Promise<boolean> {
  let file: string;
  let page;
  try {
    page = parseManifestPage(value);
    file = bundleFileOf(page.path);
  } catch (error) {
    problems.add(`${where}: ${(error as Error).message}`);
    return false;
  }
  if (page.seq <= since) return false;
  if (!files.delete(file)) {
    problems.add(`${file} (${page.path}) is missing`);
    return false;
  }
  const actual = await sha256OfFile(path.join(root, file));
  if (actual.sha256 !== page.sha256 || actual.size !== page.size)
    problems.add(`${file} (${page.path}) was changed: its sha256 is not the one the manifest signs`);
  return true;
}

/** The heartbeat must signed by a trusted key for the manifest's epoch and head, and still valid. */
function checkHeartbeat(
  raw: unknown,
  manifest: { epoch: number; cursor: number } | undefined,
  trust: TrustState,
  now: number,
  problems: Problems,
): Heartbeat | undefined {
  if (raw === undefined) return undefined;
  const name = metaFile('heartbeat');
  try {
    const heartbeat = parseHeartbeat(raw);
    trust.check(heartbeat.signature, (key) => heartbeatPayload(heartbeat, key));
    if (heartbeat.validUntil <= now) {
      problems.add(
        `${name} expired at ${new Date(heartbeat.validUntil).toISOString()}: the bundle is no longer vouched for (export a new one)`,
      );
      return undefined;
    }
    if (manifest && (heartbeat.epoch !== manifest.epoch || heartbeat.head < manifest.cursor)) {
      problems.add(`${name} is for epoch ${heartbeat.epoch} head ${heartbeat.head}, not for this manifest`);
      return undefined;
    }
    return heartbeat;
  } catch (error) {
    problems.add(`${name}: wrong signature: ${(error as Error).message}`);
    return undefined;
  }
}

/** objects.json and nginx.conf must be exactly what the manifest yields (a changed content type could serve a script). */
async function checkDerived(
  root: string,
  info: BundleInfo,
  manifest: { epoch: number; cursor: number },
  problems: Problems,
): Promise<void> {
  const pages = () => manifestFilePages(path.join(root, metaFile('manifest')), parseManifestPage);
  const head = { epoch: manifest.epoch, cursor: manifest.cursor, since: info.since };
  let expected: { objects: string; nginx: string };
  try {
    expected = {
      objects: await sha256OfChunks(objectsJson(pages(), head)),
      nginx: await sha256OfChunks(nginxConfig(pages, { ...info.nginx, ...head })),
    };
  } catch (error) {
    problems.add(`${metaFile('nginx')} cannot be generated: ${(error as Error).message}`);
    return;
  }
  for (const name of ['objects', 'nginx'] as const) {
    const actual = await sha256OfFile(path.join(root, metaFile(name)));
    if (actual.sha256 !== expected[name])
      problems.add(`${metaFile(name)} was changed: it is not the one the signed manifest yields`);
  }
}
