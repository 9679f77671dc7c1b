// Real MariaDB servers for integration and failover tests: a GTID primary with
// replicas, each a separate mariadbd with its own datadir, socket and port.
// Fakes would hide exactly what these tests exist to catch (read_only
// fencing, replication lag, crash recovery, semi-sync acknowledgement).
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { makeTempDir, removeTempDir, trackChild, waitReferenced } from './cleanup';
import { freePort } from './free-port';

export const APP_USER = 'hyperstatic';
export const APP_PASSWORD = 'hyperstatic-test-password';
export const APP_DATABASE = 'hyperstatic';
export const REPLICATION_USER = 'repl';
export const REPLICATION_PASSWORD = 'repl-test-password';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** Anything we can talk SQL to as root over TCP: a server we spawned, or one described by HS_TEST_MARIADB. */
export interface SqlNode {
  readonly name: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  rootUrl(db?: string): string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(sql: string, params?: unknown[]): Promise<any>;
}

export interface DbNode extends SqlNode {
  readonly dataDir: string;
  readonly socket: string;
  readonly errorLog: string;
  readonly serverId: number;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Send a signal (SIGKILL by default, for chaos tests) and wait for the server to die if the signal is fatal. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same datadir and port; InnoDB crash recovery runs if it was killed. */
  start(): Promise<void>;
  /** Graceful shutdown (SIGTERM), escalating to SIGKILL after 30 s. */
  stop(): Promise<void>;
}

export interface Cluster {
  readonly primary: DbNode;
  readonly replicas: DbNode[];
  readonly nodes: DbNode[];
  readonly semiSync: boolean;
  /** Kill every server and delete the datadirs. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  replicas: number;
  /** Semi-synchronous replication with AFTER_SYNC, the recommended production setting. */
  semiSync?: boolean;
  /** How long the primary waits for a replica's ack before falling back to async (MariaDB default 10 s). */
  semiSyncTimeoutMs?: number;
  /**
   * 'config' (default): the primary's config turns the semi-sync source side
   * on. 'runtime': as deploy/mariadb/60-hyperstatic.cnf, every node's config
   * has it off (so a restarted node comes back with it OFF) and the caller
   * switches it on on the primary with the commands' own code
   * (app/db/semi-sync-roles.ts switchSourceSide) once the schema exists.
   */
  sourceSide?: 'config' | 'runtime';
}

export interface TestDatabase {
  readonly database: string;
  /** App-user URL on the primary. */
  readonly primaryUrl: string;
  /** App-user URLs on each replica, in cluster order. */
  readonly replicaUrls: string[];
  drop(): Promise<void>;
}

export function rootUrlFor(port: number, db = ''): string {
  return `mysql://root@127.0.0.1:${port}/${db}`;
}

/** The URL the app under test uses: an ordinary user, so read_only really fences it. */
export function appUrl(node: Pick<SqlNode, 'port'>, db = APP_DATABASE): string {
  return `mysql://${APP_USER}:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${node.port}/${db}`;
}

/** One connection per call: survives the server being killed and restarted between calls. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function queryUrl(url: string, sql: string, params?: unknown[]): Promise<any> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
  try {
    const [rows] = await conn.query(sql, params);
    return rows;
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** A SqlNode for a server someone else started (e.g. the shared cluster of test/run.js). */
export function remoteNode(name: string, port: number): SqlNode {
  return {
    name,
    host: '127.0.0.1',
    port,
    rootUrl: (db?: string) => rootUrlFor(port, db),
    query: (sql: string, params?: unknown[]) => queryUrl(rootUrlFor(port), sql, params),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}

const runningAsRoot = process.getuid?.() === 0;
// mariadbd is installed in /usr/sbin, which is not on every user's PATH.
const SPAWN_ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin` };

class MariaDBServer implements DbNode {
  readonly host = '127.0.0.1' as const;
  readonly dataDir: string;
  readonly socket: string;
  readonly errorLog: string;
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private everStarted = false;

  constructor(
    readonly name: string,
    readonly serverId: number,
    private readonly dir: string,
    private readonly ownerDir: string,
    private readonly roleArgs: string[],
  ) {
    this.dataDir = path.join(dir, 'data');
    this.socket = path.join(dir, 'mysqld.sock');
    this.errorLog = path.join(dir, 'error.log');
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  rootUrl(db = ''): string {
    return rootUrlFor(this.port, db);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(sql: string, params?: unknown[]): Promise<any> {
    return queryUrl(this.rootUrl(), sql, params);
  }

  async install(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const args = [
      '--no-defaults',
      ...(runningAsRoot ? ['--user=root'] : []),
      `--datadir=${this.dataDir}`,
      // Parallel bootstraps sharing /tmp collide on temporary table names.
      `--tmpdir=${this.dir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      // Must match the server's settings, or the first start resizes the redo log.
      ...MEMORY_ARGS,
    ];
    const output: Buffer[] = [];
    const child = spawn('mariadb-install-db', args, { stdio: ['ignore', 'pipe', 'pipe'], env: SPAWN_ENV });
    child.stdout.on('data', (b: Buffer) => output.push(b));
    child.stderr.on('data', (b: Buffer) => output.push(b));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) {
      throw new Error(
        `mariadb-install-db for ${this.name} exited with ${code}:\n${Buffer.concat(output).toString().slice(-4000)}`,
      );
    }
  }

  private serverArgs(): string[] {
    return [
      '--no-defaults',
      ...(runningAsRoot ? ['--user=root'] : []),
      `--datadir=${this.dataDir}`,
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
      `--log-error=${this.errorLog}`,
      `--tmpdir=${this.dir}`,
      '--bind-address=127.0.0.1',
      `--port=${this.port}`,
      '--skip-name-resolve',
      `--server-id=${this.serverId}`,
      '--log-bin=mysql-bin',
      '--relay-log=relay-bin',
      '--binlog-format=ROW',
      '--gtid-strict-mode=1',
      '--log-slave-updates=1',
      // A dead primary should be noticed in seconds, not the default minute.
      '--slave-net-timeout=20',
      // 10.11 still defaults to latin1; the app stores arbitrary Unicode.
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--default-time-zone=+00:00',
      ...MEMORY_ARGS,
      // innodb_flush_log_at_trx_commit stays at its default (1): failover
      // tests depend on an acknowledged commit surviving SIGKILL.
      ...this.roleArgs,
    ];
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    for (let attempt = 1; ; attempt++) {
      if (!this.everStarted && this.port === 0) this.port = await freePort();
      try {
        await this.spawnAndWait();
        this.everStarted = true;
        return;
      } catch (err) {
        // Someone took the port between freePort() and bind(); only a fresh
        // node may move, a restarted one must keep its address.
        if (
          !this.everStarted &&
          attempt < 3 &&
          /address already in use|Bind on TCP\/IP port/i.test(tail(this.errorLog))
        ) {
          this.port = 0;
          continue;
        }
        throw err;
      }
    }
  }

  private async spawnAndWait(): Promise<void> {
    // Logs go to --log-error, so no pipes keep the event loop alive; the
    // child is unref'd so a test file can finish while a server still runs
    // (the exit hook in cleanup.ts kills it).
    const child = spawn('mariadbd', this.serverArgs(), { stdio: 'ignore', cwd: this.dir, env: SPAWN_ENV });
    child.unref();
    trackChild(child, this.ownerDir);
    this.child = child;
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    let error: Error | undefined;
    child.once('error', (e) => {
      error = e;
      if (this.child === child) this.child = undefined;
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (error) throw new Error(`could not spawn mariadbd for ${this.name}: ${error.message}`);
      if (exitInfo) {
        throw new Error(
          `mariadbd ${this.name} exited during startup (${exitInfo}); ${this.errorLog}:\n${tail(this.errorLog)}`,
        );
      }
      if (Date.now() > deadline) {
        await this.kill('SIGKILL');
        throw new Error(
          `mariadbd ${this.name} not ready after ${READY_TIMEOUT_MS} ms; ${this.errorLog}:\n${tail(this.errorLog)}`,
        );
      }
      try {
        const conn = await mysql.createConnection({ socketPath: this.socket, user: 'root', connectTimeout: 1000 });
        await conn.end();
        return;
      } catch {
        await sleep(50);
      }
    }
  }

  /** Statements that must not reach the binlog: each node runs them for itself, so replicas stay free of errant GTIDs. */
  async localSetup(statements: string[]): Promise<void> {
    const conn = await mysql.createConnection({ socketPath: this.socket, user: 'root' });
    try {
      await conn.query('SET SESSION sql_log_bin = 0');
      for (const sql of statements) await conn.query(sql);
    } finally {
      await conn.end();
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    if (FATAL_SIGNALS.has(signal)) await waitReferenced(child, this.exited);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT'); // a SIGSTOPped server cannot act on SIGTERM
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await waitReferenced(child, this.exited);
    clearTimeout(timer);
  }
}

const FATAL_SIGNALS = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGABRT']);

// Small enough that a primary and two replicas fit next to the app on a
// 2-core CI box; production sizes are irrelevant to what the tests check.
const MEMORY_ARGS = [
  '--innodb-buffer-pool-size=64M',
  '--innodb-log-file-size=16M',
  '--innodb-log-buffer-size=4M',
  '--key-buffer-size=4M',
  '--aria-pagecache-buffer-size=8M',
  '--performance-schema=OFF',
  '--max-connections=200',
];

/** Point `replica` at `primary` with GTID replication and wait until both replication threads run. */
export async function replicateFrom(
  replica: SqlNode,
  primary: Pick<SqlNode, 'port'>,
  timeoutMs = 30_000,
): Promise<void> {
  await replica.query('STOP SLAVE');
  await replica.query(
    `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=?, MASTER_USER=?, MASTER_PASSWORD=?,
       MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
    [primary.port, REPLICATION_USER, REPLICATION_PASSWORD],
  );
  await replica.query('START SLAVE');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [status] = await replica.query('SHOW SLAVE STATUS');
    if (status?.Slave_IO_Running === 'Yes' && status?.Slave_SQL_Running === 'Yes') return;
    if (status?.Last_SQL_Error || Date.now() > deadline) {
      throw new Error(
        `replication ${replica.name} <- :${primary.port} not running: IO=${status?.Slave_IO_Running} SQL=${status?.Slave_SQL_Running} ` +
          `io_error=${JSON.stringify(status?.Last_IO_Error)} sql_error=${JSON.stringify(status?.Last_SQL_Error)}`,
      );
    }
    await sleep(50);
  }
}

/** Wait until `replica` has applied everything `primary` has binlogged so far (MASTER_GTID_WAIT). */
export async function waitForReplica(primary: SqlNode, replica: SqlNode, timeoutMs = 10_000): Promise<void> {
  const [{ pos }] = await primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
  if (!pos) return;
  const [{ result }] = await replica.query('SELECT MASTER_GTID_WAIT(?, ?) AS result', [pos, timeoutMs / 1000]);
  if (Number(result) !== 0) {
    const [{ applied }] = await replica.query('SELECT @@GLOBAL.gtid_slave_pos AS applied');
    const [status] = await replica.query('SHOW SLAVE STATUS');
    throw new Error(
      `${replica.name} did not reach ${primary.name}'s gtid ${pos} within ${timeoutMs} ms (applied ${applied}; ` +
        `IO=${status?.Slave_IO_Running} SQL=${status?.Slave_SQL_Running} io_error=${JSON.stringify(status?.Last_IO_Error)} ` +
        `sql_error=${JSON.stringify(status?.Last_SQL_Error)})`,
    );
  }
}

/**
 * A fresh database on the primary, granted to the app user, and already
 * replicated when this resolves; one per test file keeps files independent.
 */
export async function createDatabase(
  cluster: { primary: SqlNode; replicas: SqlNode[] },
  name = 'test',
): Promise<TestDatabase> {
  const database = `hs_${name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  const { primary, replicas } = cluster;
  await primary.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await primary.query(`GRANT ALL ON \`${database}\`.* TO '${APP_USER}'@'%', '${APP_USER}'@'127.0.0.1'`);
  await Promise.all(replicas.map((r) => waitForReplica(primary, r)));
  return {
    database,
    primaryUrl: appUrl(primary, database),
    replicaUrls: replicas.map((r) => appUrl(r, database)),
    drop: async () => {
      await primary.query(`DROP DATABASE IF EXISTS \`${database}\``);
    },
  };
}

async function waitForSemiSyncClients(primary: SqlNode, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows: { Variable_name: string; Value: string }[] = await primary.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_status')",
    );
    const status = Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]));
    if (Number(status.Rpl_semi_sync_master_clients) >= count && status.Rpl_semi_sync_master_status === 'ON') return;
    if (Date.now() > deadline)
      throw new Error(`semi-sync not established on ${primary.name}: ${JSON.stringify(status)}`);
    await sleep(50);
  }
}

/** Like Promise.all, but waits for every sibling first, so cleanup never deletes a datadir a process is still writing. */
async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Start a primary and `replicas` GTID replicas; replicas run read_only=1 as they would in production. */
export async function startMariaDBCluster(options: ClusterOptions): Promise<Cluster> {
  const semiSync = options.semiSync ?? false;
  const ownerDir = makeTempDir('mariadb');
  const runtime = semiSync && options.sourceSide === 'runtime';
  const timeout =
    semiSync && options.semiSyncTimeoutMs !== undefined
      ? [`--rpl-semi-sync-master-timeout=${options.semiSyncTimeoutMs}`]
      : [];
  // In runtime mode every node has the deploy config's settings, so whichever is promoted waits as long.
  const semiSyncSlave = semiSync
    ? [
        '--rpl-semi-sync-slave-enabled=ON',
        ...(runtime
          ? ['--rpl-semi-sync-master-enabled=OFF', '--rpl-semi-sync-master-wait-point=AFTER_SYNC', ...timeout]
          : []),
      ]
    : [];
  const primary = new MariaDBServer('primary', 1, path.join(ownerDir, 'primary'), ownerDir, [
    ...semiSyncSlave,
    ...(semiSync && !runtime
      ? ['--rpl-semi-sync-master-enabled=ON', '--rpl-semi-sync-master-wait-point=AFTER_SYNC', ...timeout]
      : []),
  ]);
  const replicas = Array.from(
    { length: options.replicas },
    (_, i) =>
      new MariaDBServer(`replica${i + 1}`, i + 2, path.join(ownerDir, `replica${i + 1}`), ownerDir, [
        ...semiSyncSlave,
        '--read-only=1',
      ]),
  );
  const nodes = [primary, ...replicas];
  const stop = async (): Promise<void> => {
    // The data is thrown away, so there is nothing a graceful shutdown would save.
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    removeTempDir(ownerDir);
  };

  try {
    await settleAll(nodes.map((n) => n.install()));
    await settleAll(nodes.map((n) => n.start()));
    // install-db only creates root@localhost (socket); tests and tools connect over TCP.
    await Promise.all(
      nodes.map((n) =>
        n.localSetup([
          "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
          "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
        ]),
      ),
    );
    // With no semi-sync replica connected yet, every setup write would wait
    // out rpl_semi_sync_master_timeout (10 s); switch it on once they are.
    if (semiSync) await primary.query('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
    // Binlogged on purpose: replicas get the same users, so any of them can be promoted.
    for (const sql of [
      `CREATE USER '${REPLICATION_USER}'@'%' IDENTIFIED BY '${REPLICATION_PASSWORD}'`,
      `GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${REPLICATION_USER}'@'%'`,
      `CREATE DATABASE \`${APP_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
      `CREATE USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASSWORD}'`,
      `CREATE USER '${APP_USER}'@'127.0.0.1' IDENTIFIED BY '${APP_PASSWORD}'`,
      // Deliberately no global privileges: SUPER or READ_ONLY ADMIN would let the app write through read_only.
      `GRANT ALL ON \`${APP_DATABASE}\`.* TO '${APP_USER}'@'%', '${APP_USER}'@'127.0.0.1'`,
    ]) {
      await primary.query(sql);
    }
    await Promise.all(replicas.map((r) => replicateFrom(r, primary)));
    await Promise.all(replicas.map((r) => waitForReplica(primary, r)));
    if (semiSync && !runtime) {
      await primary.query('SET GLOBAL rpl_semi_sync_master_enabled = ON');
      if (replicas.length > 0) await waitForSemiSyncClients(primary, replicas.length);
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { primary, replicas, nodes, semiSync, stop };
}

export interface BareNodes {
  readonly nodes: DbNode[];
  /** Kill every server and delete the datadirs. */
  stop(): Promise<void>;
}

/**
 * `count` fresh servers set up as docs/operations.md's MariaDB config sets
 * every node (deploy/mariadb/60-hyperstatic.cnf: read_only = 1, semi-sync
 * replica side on, source side off), with no replication, no database and
 * no accounts but root over TCP: what an operator has before
 * `hyperstatic db bootstrap`.
 */
export async function startMariaDBNodes(
  count: number,
  options: { semiSyncTimeoutMs?: number } = {},
): Promise<BareNodes> {
  const ownerDir = makeTempDir('mariadb-bare');
  const nodes = Array.from(
    { length: count },
    (_, i) =>
      new MariaDBServer(`db${i + 1}`, i + 1, path.join(ownerDir, `db${i + 1}`), ownerDir, [
        '--read-only=1',
        '--rpl-semi-sync-master-enabled=OFF',
        '--rpl-semi-sync-slave-enabled=ON',
        '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
        ...(options.semiSyncTimeoutMs !== undefined
          ? [`--rpl-semi-sync-master-timeout=${options.semiSyncTimeoutMs}`]
          : []),
      ]),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    removeTempDir(ownerDir);
  };
  try {
    await settleAll(nodes.map((n) => n.install()));
    await settleAll(nodes.map((n) => n.start()));
    await Promise.all(
      nodes.map((n) =>
        n.localSetup([
          "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
          "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
        ]),
      ),
    );
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { nodes, stop };
}
