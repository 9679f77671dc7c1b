// The embedded database's folder and files are the operator's alone: the
// folder 0700, the database file 0600 (SQLite gives its -wal and -shm files
// the database file's mode). A fresh database is created that way; an older
// one made 0755/0644 is tightened on start, with a log line saying so.
import fs from 'node:fs';
import path from 'node:path';

export interface Tightened {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

function tighten(file: string, mode: number, done: Tightened[]): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return;
  }
  // Group or other bits set: take them away, keep the owner's.
  if ((stat.mode & 0o077) === 0) return;
  fs.chmodSync(file, mode);
  done.push({ path: file, from: octal(stat.mode), to: octal(mode) });
}

/** Creates (or tightens) the folder and file of an embedded database; returns what it had to tighten. */
export function secureSqliteFiles(filename: string): Tightened[] {
  const file = path.resolve(filename);
  const dir = path.dirname(file);
  const done: Tightened[] = [];
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700, done);
  // An empty file is a valid new database: creating it here fixes its mode before SQLite opens it.
  fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_RDWR, 0o600));
  for (const name of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) tighten(name, 0o600, done);
  return done;
}
