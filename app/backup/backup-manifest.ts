// `backup.json`, the first thing in every embedded backup (app/backup/embedded-backup.ts):
// what the archive holds, file by file, with sizes, sha256s and modes, and
// where the site was when it was taken (journal head, epoch, schema). Pure:
// restore checks an unpacked archive against it before touching the target.

export const BACKUP_FORMAT = 'hyperstatic-backup';
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'backup.json';
export const DATABASE_NAME = 'hyperstatic.sqlite';

export interface BackupFile {
  /** Relative: `hyperstatic.sqlite`, `media/<sha256>`, `keys/feed-ed25519.key`. */
  path: string;
  size: number;
  sha256: string;
  /** Permission bits (e.g. 0o600 for a private key), restored as they were. */
  mode: number;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_FORMAT_VERSION;
  /** The hyperstatic package version that wrote it. */
  hyperstatic: string;
  createdAt: string;
  /** The journal head and epoch of the database copy: the site exactly as it was at that entry. */
  journalHead: number;
  epoch: number;
  /** The last schema migration the copy had applied. */
  schema: string;
  pages: number;
  /** The signing key's file name inside keys/ (FEED_SIGNING_KEY's base name when the backup was taken). */
  signingKey: string;
  files: BackupFile[];
}

/** MEDIA_DIR is flat (app/media/media-store.ts: originals and renditions named by hash); so is the keys folder. */
const SAFE_PATH = /^(hyperstatic\.sqlite|(media|keys)\/[A-Za-z0-9_-][A-Za-z0-9._-]*)$/;

/** Whether a backup may hold this path (restore refuses any other). */
export function isBackupPath(rel: string): boolean {
  return SAFE_PATH.test(rel) && !rel.includes('..');
}

/** Parses backup.json; throws naming the first thing wrong (a restore then changes nothing). */
export function parseBackupManifest(text: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${MANIFEST_NAME} is not JSON`);
  }
  const m = value as Partial<BackupManifest>;
  if (m?.format !== BACKUP_FORMAT) throw new Error(`${MANIFEST_NAME} does not describe a hyperstatic backup`);
  if (m.version !== BACKUP_FORMAT_VERSION)
    throw new Error(
      `backup format version ${String(m.version)} is not one this hyperstatic reads (${BACKUP_FORMAT_VERSION})`,
    );
  for (const key of ['journalHead', 'epoch', 'pages'] as const)
    if (!Number.isInteger(m[key]) || (m[key] as number) < 0)
      throw new Error(`${MANIFEST_NAME}: ${key} is not a whole number`);
  if (!Array.isArray(m.files)) throw new Error(`${MANIFEST_NAME}: files is missing`);
  const seen = new Set<string>();
  for (const f of m.files) {
    if (typeof f?.path !== 'string' || !isBackupPath(f.path))
      throw new Error(`${MANIFEST_NAME}: ${JSON.stringify(f?.path)} is not a path a backup holds`);
    if (seen.has(f.path)) throw new Error(`${MANIFEST_NAME}: ${f.path} is listed twice`);
    seen.add(f.path);
    if (!Number.isInteger(f.size) || f.size < 0) throw new Error(`${MANIFEST_NAME}: ${f.path} has no size`);
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new Error(`${MANIFEST_NAME}: ${f.path} has no sha256`);
    if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777)
      throw new Error(`${MANIFEST_NAME}: ${f.path} has no mode`);
  }
  if (!seen.has(DATABASE_NAME)) throw new Error(`${MANIFEST_NAME} lists no ${DATABASE_NAME}`);
  if (typeof m.signingKey !== 'string' || !seen.has(`keys/${m.signingKey}`))
    throw new Error(`${MANIFEST_NAME} lists no signing key`);
  const key = m.files.find((f) => f.path === `keys/${m.signingKey}`)!;
  // The private key must come back private even if the archive was edited.
  if ((key.mode & 0o077) !== 0) throw new Error(`${MANIFEST_NAME}: the signing key's mode would let others read it`);
  return m as BackupManifest;
}
