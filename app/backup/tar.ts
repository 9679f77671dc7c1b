// The archive of an embedded backup is a gzipped tar made by the system's
// `tar` (GNU tar or bsdtar: every Linux and macOS has one), so an operator
// can list or unpack it by hand. The archive file is created by us, mode 600
// and exclusively, before tar writes a byte into it: it holds the site's
// private signing key.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

function runTar(args: string[], stdout?: fs.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (stdout) child.stdout!.pipe(stdout);
    child.once('error', (error) =>
      reject(
        new Error(`could not run tar (${(error as NodeJS.ErrnoException).code ?? error.message}): is it installed?`),
      ),
    );
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(stderr.trim().split('\n')[0] || `tar exited with ${code}`));
    });
  });
}

/** Writes `entries` (relative to `dir`) to a new file `out`, mode 600; refuses an existing `out`. */
export async function createTarGz(out: string, dir: string, entries: string[]): Promise<void> {
  const fd = fs.openSync(out, 'wx', 0o600);
  const stream = fs.createWriteStream('', { fd });
  const closed = new Promise<void>((resolve, reject) => {
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  try {
    await runTar(['-czf', '-', '-C', dir, '--', ...entries], stream);
    await closed;
  } catch (error) {
    stream.destroy();
    fs.rmSync(out, { force: true });
    throw error;
  }
}

/** Unpacks `file` into the existing folder `dir`. */
export function extractTarGz(file: string, dir: string): Promise<void> {
  return runTar(['-xzf', file, '-C', dir]);
}
