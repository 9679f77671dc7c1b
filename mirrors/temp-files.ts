// The files in `blobs/tmp` and how they are named: a blob being written
// (`SHA.PID.RANDOM`), an interrupted download waiting to be resumed
// (`SHA.part`) and one a writer has claimed (`SHA.part.PID.RANDOM`). The
// owner's pid is in the name so the sweep at open can tell a live writer's
// file from one a crash left behind.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A partial download nobody came back for within this long is worthless. */
export const PART_MAX_AGE_MS = 24 * 3600_000;
/** A temp file's owner: `SHA.PID.RANDOM` (a blob being written) or `SHA.part.PID.RANDOM` (a claimed partial download). */
const TEMP_OWNER = /\.(\d+)\.[0-9a-f]{12}$/;
const CLAIMED_PART = /^([0-9a-f]{64})\.part\.\d+\.[0-9a-f]{12}$/;

/** `base` made unique to this process and write: the suffix TEMP_OWNER reads back. */
export function ownedTempName(base: string): string {
  return `${base}.${process.pid}.${randomBytes(6).toString('hex')}`;
}

/** The resting name of the interrupted download of `sha256` (already validated). */
export function partName(sha256: string): string {
  return `${sha256}.part`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A `.part` file is an interrupted download that a later fetch resumes (HTTP Range); one
 * claimed by a process that died (SIGKILL) goes back to being one. Files of a live process
 * (the mirror, while `mirror verify` opens its store) are in flight: leave them. Other temp
 * files, and parts nobody came back for within a day, are worthless.
 */
export function sweepTempDir(tmpDir: string, now = Date.now()): void {
  const stale = now - PART_MAX_AGE_MS;
  for (const name of fs.readdirSync(tmpDir)) {
    const file = path.join(tmpDir, name);
    // lstat: a link is no download of ours; no entry: another process just finished it.
    const stat = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!stat) continue;
    const owner = TEMP_OWNER.exec(name);
    if (owner && stat.isFile() && processAlive(Number(owner[1]))) continue;
    const claimed = CLAIMED_PART.exec(name);
    const resting = claimed && path.join(tmpDir, partName(claimed[1]));
    if (resting && stat.isFile() && stat.mtimeMs >= stale && !fs.existsSync(resting)) fs.renameSync(file, resting);
    else if (!name.endsWith('.part') || !stat.isFile() || stat.mtimeMs < stale)
      fs.rmSync(file, { force: true, recursive: true });
  }
}
