// MariaDB's own binlog client, run against a node over the network: decode
// the row images of its transactions (`mariadb-binlog -vv`). The operator's
// admin password goes in a mode-600 option file that is removed afterwards,
// never on a command line other users can read in `ps`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HyperstaticError } from '../../common/errors';
import type { AdminCredentials } from '../../common/db/node-status';
import { hostPort, type NodeSpec } from '../../common/db/topology';

export class BinlogToolError extends HyperstaticError {
  constructor(message: string) {
    super('HS_BINLOG_TOOL', 500, message);
  }
}

async function withOptionFile<T>(node: NodeSpec, admin: AdminCredentials, fn: (file: string) => Promise<T>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-binlog-'));
  const file = path.join(dir, 'client.cnf');
  const { host, port } = hostPort(node.url);
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  fs.writeFileSync(
    file,
    `[client]\nhost=${host}\nport=${port}\nuser=${quote(admin.user)}\npassword=${quote(admin.password)}\n`,
    { mode: 0o600 },
  );
  try {
    return await fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // TZ=UTC: the event times mariadb-binlog prints are then UTC (binlog-rows.ts reads them so).
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC' },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', (e) =>
      reject(
        new BinlogToolError(
          `${command} could not run (${e.message}); install the MariaDB client tools (Debian: mariadb-client)`,
        ),
      ),
    );
    child.once('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('latin1'))
        : reject(new BinlogToolError(`${command} exited with ${code}: ${err.trim().slice(-500)}`)),
    );
  });
}

function binlogArgs(file: string, from: { file: string; pos: number }): string[] {
  return [
    `--defaults-extra-file=${file}`,
    '--read-from-remote-server',
    `--start-position=${from.pos}`,
    '--to-last-log',
    from.file,
  ];
}

/** Every transaction from binlog position `from` to the end, decoded (`-vv`: values with their column types); one character per byte (latin1), as binlog-rows.ts reads it. */
export function decodeBinlog(
  node: NodeSpec,
  admin: AdminCredentials,
  from: { file: string; pos: number },
): Promise<string> {
  return withOptionFile(node, admin, (file) =>
    run('mariadb-binlog', [...binlogArgs(file, from), '--base64-output=DECODE-ROWS', '-vv']),
  );
}
