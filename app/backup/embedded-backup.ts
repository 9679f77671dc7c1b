// `hyperstatic backup` and `hyperstatic restore` for the embedded mode
// (docs/operations.md, "Backups"): the SQLite database, the media folder and
// the keys folder in one gzipped tar, mode 600, with backup.json describing
// every file (app/backup/backup-manifest.ts).
//
// Consistent while the site runs: the database is copied with SQLite's
// online backup API (better-sqlite3's `.backup()`) from its own connection,
// which in WAL mode reads one snapshot while the site keeps writing. Media
// are copied after the database: a file is stored before the row that names
// it (app/media/media-store.ts), so every file the copy names is there. The
// mirror's copy (MIRROR_DATA_DIR) is left out: it is derived, and the
// restored site's mirror loads it again from the restored origin's manifest.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { version as PACKAGE_VERSION } from '../../package.json';
import type { Config } from '../../common/config';
import { dialectOf } from '../../common/db/database';
import { keyFiles } from '../feed/signing-keys';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  DATABASE_NAME,
  isBackupPath,
  MANIFEST_NAME,
  parseBackupManifest,
  type BackupFile,
  type BackupManifest,
} from './backup-manifest';
import { createTarGz, extractTarGz } from './tar';

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Hard-links (same filesystem) or copies `from` to `to`, keeping its mode. */
function place(from: string, to: string, mode: number): void {
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
    fs.chmodSync(to, mode);
  }
}

/** Regular files directly in `dir` (none if it does not exist). Media and keys are flat folders. */
function filesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.tmp'))
    .map((e) => e.name)
    .sort();
}

/**
 * The copy inherits WAL mode from the site's database; switched to a rollback journal it is one
 * self-contained file, which a read-only check opens without creating -wal/-shm files beside it.
 * The site turns WAL back on when it opens the restored file (common/db/database.ts).
 */
function settleCopy(file: string): void {
  const db = new Sqlite(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE', { simple: true });
  } finally {
    db.close();
  }
  fs.chmodSync(file, 0o600);
}

/** The database copy's place in the journal, read from the copy itself so it names exactly what it holds. */
function describeCopy(file: string): Pick<BackupManifest, 'journalHead' | 'epoch' | 'schema' | 'pages'> {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the database copy failed SQLite's quick_check: ${String(check)}`);
    const state = db.prepare('SELECT epoch, journal_head FROM cluster_state WHERE id = 1').get() as
      { epoch: number; journal_head: number } | undefined;
    if (!state) throw new Error('the database has no cluster_state row: has the site ever started?');
    const schema = db.prepare('SELECT name FROM knex_migrations ORDER BY id DESC LIMIT 1').get() as { name: string };
    const pages = db.prepare("SELECT COUNT(*) AS n FROM pages WHERE op <> 'delete'").get() as { n: number };
    return { journalHead: Number(state.journal_head), epoch: Number(state.epoch), schema: schema.name, pages: pages.n };
  } finally {
    db.close();
  }
}

export interface BackupResult {
  file: string;
  bytes: number;
  seconds: number;
  manifest: BackupManifest;
}

function sqlitePathOf(config: Config): string {
  if (dialectOf(config.databaseUrl) !== 'sqlite')
    throw new Error(
      'DATABASE_URL is MariaDB/MySQL: `hyperstatic backup` copies the embedded SQLite site only; back up MariaDB with mariabackup or mariadb-dump (docs/operations.md, "Backups")',
    );
  const file = path.resolve(config.databaseUrl.slice('sqlite:'.length));
  if (!fs.existsSync(file)) throw new Error(`no database at ${file}: is DATA_DIR (or DATABASE_URL) right?`);
  return file;
}

/** The signing key pair and every other file of the keys folder, as [source, name in keys/]. */
function keySources(config: Config): [string, string][] {
  const { privatePath, publicPath } = keyFiles(config.feedSigningKey);
  if (!fs.existsSync(privatePath))
    throw new Error(`no signing key at ${privatePath} (FEED_SIGNING_KEY): a backup without it could not sign the feed`);
  const sources = new Map<string, string>();
  const keysDir = path.join(config.dataDir, 'keys');
  for (const name of filesIn(keysDir)) sources.set(name, path.join(keysDir, name));
  for (const file of [privatePath, publicPath]) {
    if (!fs.existsSync(file)) continue;
    const name = path.basename(file);
    const known = sources.get(name);
    if (known !== undefined && path.resolve(known) !== path.resolve(file))
      throw new Error(`${file} (FEED_SIGNING_KEY) and ${known} have the same name; rename one`);
    sources.set(name, file);
  }
  return [...sources.entries()].map(([name, file]) => [file, name]);
}

/**
 * Writes a backup of the embedded site to `out` (a new .tar.gz, mode 600). Refuses an existing
 * `out`, a MariaDB site and a site with no database or key, before writing anything.
 */
export async function createBackup(
  config: Config,
  out: string,
  now: () => Date = () => new Date(),
): Promise<BackupResult> {
  const started = process.hrtime.bigint();
  const target = path.resolve(out);
  const database = sqlitePathOf(config);
  if (fs.existsSync(target)) throw new Error(`${target} already exists; a backup never overwrites a file`);
  if (!fs.existsSync(path.dirname(target))) throw new Error(`${path.dirname(target)}: no such folder`);
  const keys = keySources(config);
  const stage = fs.mkdtempSync(path.join(path.dirname(target), `.${path.basename(target)}.partial-`));
  try {
    fs.chmodSync(stage, 0o700);
    const source = new Sqlite(database, { fileMustExist: true, timeout: 5000 });
    try {
      // One step for everything after the first: a copy that a writer interrupts between steps starts
      // over (SQLite's backup API), and a single step reads one WAL snapshot without blocking the site.
      await source.backup(path.join(stage, DATABASE_NAME), { progress: () => 1 << 30 });
    } finally {
      source.close();
    }
    settleCopy(path.join(stage, DATABASE_NAME));
    const state = describeCopy(path.join(stage, DATABASE_NAME));
    const files: BackupFile[] = [await entry(stage, DATABASE_NAME, 0o600)];
    for (const [dir, sources] of [
      ['media', filesIn(config.mediaDir).map((name): [string, string] => [path.join(config.mediaDir, name), name])],
      ['keys', keys],
    ] as const) {
      fs.mkdirSync(path.join(stage, dir), { mode: 0o700 });
      for (const [from, name] of sources) {
        if (!isBackupPath(`${dir}/${name}`))
          throw new Error(`${from}: a backup holds only names of letters, digits, '.', '_' and '-'; rename it`);
        const mode = fs.statSync(from).mode & 0o777;
        place(from, path.join(stage, dir, name), mode);
        files.push(await entry(stage, `${dir}/${name}`, mode));
      }
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      hyperstatic: PACKAGE_VERSION,
      createdAt: now().toISOString(),
      ...state,
      signingKey: path.basename(config.feedSigningKey),
      files,
    };
    fs.writeFileSync(path.join(stage, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await createTarGz(target, stage, [MANIFEST_NAME, DATABASE_NAME, 'media', 'keys']);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { file: target, bytes: fs.statSync(target).size, seconds, manifest };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

async function entry(stage: string, rel: string, mode: number): Promise<BackupFile> {
  const file = path.join(stage, rel);
  return { path: rel, size: fs.statSync(file).size, sha256: await sha256Of(file), mode };
}

export interface RestoreResult {
  dataDir: string;
  manifest: BackupManifest;
  /** What --force removed from the target first. */
  replaced: string[];
}

/** What a restore writes into DATA_DIR, and the derived mirror copy it clears with --force. */
const RESTORED = [DATABASE_NAME, `${DATABASE_NAME}-wal`, `${DATABASE_NAME}-shm`, 'media', 'keys', 'mirror'];

/** Every path under `dir`, relative, '/'-separated; throws on anything but folders and regular files. */
function unpackedFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(name);
      else if (e.isFile()) found.push(name);
      else throw new Error(`the archive holds ${name}, which is neither a file nor a folder`);
    }
  };
  walk('');
  return found.sort();
}

/** Checks an unpacked archive against its backup.json: the same files, sizes and sha256s, and a sound database. */
async function verifyUnpacked(stage: string): Promise<BackupManifest> {
  const manifestFile = path.join(stage, MANIFEST_NAME);
  if (!fs.existsSync(manifestFile)) throw new Error(`it has no ${MANIFEST_NAME}: not a hyperstatic backup`);
  const manifest = parseBackupManifest(fs.readFileSync(manifestFile, 'utf8'));
  const listed = new Set(manifest.files.map((f) => f.path));
  const extra = unpackedFiles(stage).filter((f) => f !== MANIFEST_NAME && !listed.has(f));
  if (extra.length > 0) throw new Error(`it holds ${extra[0]}, which ${MANIFEST_NAME} does not list`);
  for (const f of manifest.files) {
    const file = path.join(stage, f.path);
    if (!fs.existsSync(file)) throw new Error(`${f.path} is missing`);
    if (fs.statSync(file).size !== f.size || (await sha256Of(file)) !== f.sha256)
      throw new Error(`${f.path} is damaged (its size or sha256 differs from ${MANIFEST_NAME})`);
  }
  const copy = describeCopy(path.join(stage, DATABASE_NAME));
  if (copy.journalHead !== manifest.journalHead || copy.epoch !== manifest.epoch)
    throw new Error(
      `the database is at journal entry ${copy.journalHead}, not ${manifest.journalHead} as ${MANIFEST_NAME} says`,
    );
  return manifest;
}

/**
 * Unpacks a backup into `dataDir`: into a temporary folder beside it first, verified there (every
 * file's sha256, SQLite's quick_check), so a missing, damaged or foreign archive changes nothing.
 * A non-empty `dataDir` is refused unless `force`, which replaces the database, media, keys and
 * the mirror copy (it would be ahead of the restored journal) and leaves anything else alone.
 */
export async function restoreBackup(
  file: string,
  dataDir: string,
  options: { force?: boolean } = {},
): Promise<RestoreResult> {
  const archive = path.resolve(file);
  const target = path.resolve(dataDir);
  if (!fs.existsSync(archive)) throw new Error(`${archive}: no such file`);
  if (!fs.statSync(archive).isFile()) throw new Error(`${archive} is not a file`);
  const existing = fs.existsSync(target) ? fs.readdirSync(target) : [];
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) throw new Error(`${target} is not a folder`);
  if (existing.length > 0 && !options.force)
    throw new Error(
      `${target} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); restore into a new or empty folder, or stop the site there and pass --force to replace its database, media, keys and mirror copy`,
    );
  const parent = path.dirname(target);
  if (!fs.existsSync(parent)) throw new Error(`${parent}: no such folder`);
  const stage = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.restore-`));
  try {
    fs.chmodSync(stage, 0o700);
    try {
      await extractTarGz(archive, stage);
    } catch (error) {
      throw new Error(`${archive} is not a readable backup archive: ${(error as Error).message}`);
    }
    let manifest: BackupManifest;
    try {
      manifest = await verifyUnpacked(stage);
    } catch (error) {
      throw new Error(`${archive} failed verification, nothing was restored: ${(error as Error).message}`);
    }
    fs.rmSync(path.join(stage, MANIFEST_NAME));
    for (const f of manifest.files) fs.chmodSync(path.join(stage, f.path), f.mode);
    for (const dir of ['media', 'keys']) {
      fs.mkdirSync(path.join(stage, dir), { recursive: true });
      fs.chmodSync(path.join(stage, dir), dir === 'keys' ? 0o700 : 0o755);
    }
    const replaced = existing.filter((name) => RESTORED.includes(name));
    fs.mkdirSync(target, { recursive: true });
    for (const name of replaced) fs.rmSync(path.join(target, name), { recursive: true, force: true });
    for (const name of fs.readdirSync(stage)) fs.renameSync(path.join(stage, name), path.join(target, name));
    return { dataDir: target, manifest, replaced };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
