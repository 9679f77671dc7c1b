// Copies the source's database onto an empty node for `db setup-replica`:
// `mariadb-dump --single-transaction --master-data=2 --gtid` on the source,
// piped into the `mariadb` client on the node, and the GTID position the
// dump was taken at, read from the dump's own header. --single-transaction
// with --master-data takes a consistent InnoDB snapshot and the binlog
// position of that snapshot (BINLOG_GTID_POS of binlog_snapshot_file/
// _position), so the position and the data agree without holding a global
// read lock for the whole dump. The import runs with sql_log_bin = 0: a
// replica that binlogged it would own GTIDs its primary never wrote, which
// gtid_strict_mode refuses later.
import { spawn, type ChildProcess } from 'node:child_process';
import { HyperstaticError } from '../../common/errors';
import { hostPort, type NodeSpec } from '../../common/db/topology';

export interface SeedTools {
  /** Defaults to `mariadb-dump` and `mariadb` from PATH (Debian: mariadb-client). */
  dump?: string;
  client?: string;
}

export interface SeedResult {
  /** The source's GTID position at the dump's snapshot: the replica's gtid_slave_pos. */
  gtid: string;
  bytes: number;
}

const GTID_LINE = /gtid_slave_pos\s*=\s*'([^']*)'/;

function connectionArgs(node: NodeSpec, user: string): string[] {
  const { host, port } = hostPort(node.url);
  return [`--host=${host}`, `--port=${port}`, `--user=${user}`, '--protocol=TCP'];
}

function finished(child: ChildProcess, name: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new HyperstaticError(
          'HS_REPLICA_SEED_FAILED',
          500,
          error.code === 'ENOENT'
            ? `${name} is not installed: seeding an empty node needs mariadb-dump and mariadb (Debian: apt-get install mariadb-client)`
            : `${name}: ${error.message}`,
        ),
      ),
    );
    child.once('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new HyperstaticError(
              'HS_REPLICA_SEED_FAILED',
              500,
              `${name} failed (${signal ?? `exit ${code}`}): ${stderr().trim().split('\n').slice(-3).join(' ') || 'no message'}`,
            ),
          ),
    );
  });
}

export async function seedFromSource(
  source: NodeSpec,
  target: NodeSpec,
  admin: { user: string; password: string },
  tools: SeedTools = {},
): Promise<SeedResult> {
  const { database } = hostPort(source.url);
  // The password travels in the environment (MYSQL_PWD), readable only by
  // this user, never on a command line that `ps` shows to everyone.
  const env = { ...process.env, MYSQL_PWD: admin.password };
  const dump = spawn(
    tools.dump ?? 'mariadb-dump',
    [
      ...connectionArgs(source, admin.user),
      '--single-transaction',
      '--master-data=2',
      '--gtid',
      '--routines',
      '--triggers',
      '--hex-blob',
      '--databases',
      database,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const client = spawn(
    tools.client ?? 'mariadb',
    [...connectionArgs(target, admin.user), '--init-command=SET SESSION sql_log_bin = 0', '--binary-mode'],
    { env, stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let dumpErr = '';
  let clientErr = '';
  dump.stderr!.on('data', (d: Buffer) => (dumpErr += d.toString()));
  client.stderr!.on('data', (d: Buffer) => (clientErr += d.toString()));
  let head = '';
  let gtid: string | undefined;
  let bytes = 0;
  dump.stdout!.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    // The position is in the dump's header, before any table.
    if (gtid === undefined && head.length < 1 << 20) {
      head += chunk.toString('utf8');
      gtid = GTID_LINE.exec(head)?.[1];
    }
  });
  dump.stdout!.pipe(client.stdin!);
  client.stdin!.on('error', () => undefined); // the client's own exit says why
  const results = await Promise.allSettled([
    finished(dump, 'mariadb-dump on the source', () => dumpErr),
    finished(client, 'mariadb loading the dump on the new replica', () => clientErr),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (gtid === undefined)
    throw new HyperstaticError(
      'HS_REPLICA_SEED_FAILED',
      500,
      `the dump of ${source.name} names no GTID position (is log_bin on there?); the copy on ${target.name} cannot be positioned`,
    );
  return { gtid, bytes };
}
