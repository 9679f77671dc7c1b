// Servers started by tests must not outlive the test process: a leaked
// mariadbd keeps its port, its 100 MB datadir and 64 MB of buffer pool, and a
// 2-core CI box runs out after a few aborted runs. Every child and temp dir is
// registered here and removed synchronously on exit, on SIGINT/SIGTERM, and
// (for runs that were SIGKILLed and never got the chance) by the next run's
// sweep of orphaned directories.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMP_PREFIX = 'hs-test-';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooksInstalled = false;

/** A fresh temp dir owned by this process; an `owner.pid` file lets a later run recognise it as orphaned. */
export function makeTempDir(label: string): string {
  installHooks();
  sweepOrphans();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${TEMP_PREFIX}${label}-`));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  dirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Track a spawned server; the record of its pid lets a later sweep kill it if we die uncleanly. */
export function trackChild(child: ChildProcess, ownerDir: string): void {
  installHooks();
  children.add(child);
  if (child.pid !== undefined) fs.appendFileSync(path.join(ownerDir, 'children.pid'), `${child.pid}\n`);
  child.once('exit', () => children.delete(child));
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupSync();
      // Re-raise so the exit status still says "killed by signal".
      process.kill(process.pid, signal);
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child of ours stays a zombie until libuv reaps it, which cannot
  // happen while an 'exit' handler blocks the loop: count zombies as dead.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function killAndWaitSync(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Deleting a datadir under a still-running server can leave files behind;
  // SIGKILL is asynchronous, so wait (bounded) until the kernel reaped them.
  const deadline = Date.now() + 3000;
  while (pids.some(isAlive) && Date.now() < deadline) sleepSync(20);
}

/** Synchronous because 'exit' handlers cannot await. */
export function cleanupSync(): void {
  killAndWaitSync([...children].map((c) => c.pid).filter((p): p is number => p !== undefined && isAlive(p)));
  children.clear();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

let swept = false;

/** Remove the servers and dirs of earlier test processes that died without cleaning up. */
export function sweepOrphans(): void {
  if (swept) return;
  swept = true;
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(os.tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (!owner || isAlive(owner)) continue;
    let pids: number[] = [];
    try {
      pids = fs.readFileSync(path.join(dir, 'children.pid'), 'utf8').split('\n').map(Number).filter(Boolean);
    } catch {
      // no children recorded
    }
    // Pids are recycled: only kill a process whose command line or working
    // directory is inside this dir (redis-server rewrites its command line).
    const ours = pids.filter((pid) => {
      try {
        return (
          fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir) ||
          fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)
        );
      } catch {
        return false;
      }
    });
    killAndWaitSync(ours);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An unref'd child does not keep the event loop alive, so a bare `await exited` could be abandoned mid-test. */
export async function waitReferenced(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.ref();
  try {
    await exited;
  } finally {
    child.unref();
  }
}
