// A reference version of the code for a side-by-side bench: the tree of a git
// commit extracted into a temporary folder (`git archive`, so the repository's
// worktree list is left alone), with this checkout's node_modules linked in so
// it runs without an install. Processes started with its `cli` run that code.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

export interface Checkout {
  /** The resolved commit. */
  readonly commit: string;
  readonly dir: string;
  /** Its bin/hyperstatic.js, for `startHyperstatic(..., { cli })`. */
  readonly cli: string;
  remove(): void;
}

export function checkoutRef(ref: string): Checkout {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT })
    .toString()
    .trim();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hs-baseline-${commit.slice(0, 7)}-`));
  const archive = execFileSync('git', ['archive', '--format=tar', commit], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    commit,
    dir,
    cli: path.join(dir, 'bin', 'hyperstatic.js'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** This checkout, as the other side: its HEAD commit, plus "+dirty" when files differ from it. */
export function currentCheckout(): { commit: string; cli: string } {
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).toString().trim();
  return { commit: dirty ? `${commit}+dirty` : commit, cli: path.join(ROOT, 'bin', 'hyperstatic.js') };
}
