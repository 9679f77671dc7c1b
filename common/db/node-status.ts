// One look at every database node through the operator's admin account:
// read_only, GTID positions, replication threads, semi-sync, epoch and the
// node's copy of the topology record. Unreachable nodes are reported, not
// thrown: promotion decisions are made on this snapshot (promotion-plan.ts).
import mysql from 'mysql2/promise';
import type { NodeSpec, TopologyRecord } from './topology';
import { hostPort, withCredentials } from './topology';

export interface ReplicaThreads {
  sourceHost: string;
  sourcePort: number;
  ioRunning: boolean;
  sqlRunning: boolean;
  secondsBehind: number | null;
  lastError: string;
  /** What this replica has received from its source (Gtid_IO_Pos). */
  receivedGtid: string;
}

export interface NodeStatus {
  name: string;
  host: string;
  port: number;
  reachable: boolean;
  error?: string;
  serverId?: number;
  readOnly?: boolean;
  /** Everything this node has applied or written (gtid_current_pos). */
  currentGtid?: string;
  /** What this node wrote to its own binlog (gtid_binlog_pos). */
  binlogGtid?: string;
  replica?: ReplicaThreads;
  semiSync?: { sourceEnabled: boolean; sourceActive: boolean; clients: number; replicaEnabled: boolean };
  epoch?: number;
  topology?: TopologyRecord;
  /** The server answers but has no database of the URL's name yet: an empty node (`db setup-replica` seeds it, `db bootstrap` creates it). */
  databaseMissing?: boolean;
}

export interface AdminCredentials {
  user: string;
  password: string;
}

export type AdminConnection = mysql.Connection;

/** MariaDB's ER_BAD_DB_ERROR: the server answers, the database does not exist (yet). */
export function isUnknownDatabase(error: unknown): boolean {
  return (error as { errno?: number }).errno === 1049;
}

/** `serverOnly` connects without selecting the URL's database, for a node that has none yet. */
export async function adminConnect(
  node: NodeSpec,
  admin: AdminCredentials,
  timeoutMs = 2000,
  options: { serverOnly?: boolean } = {},
): Promise<AdminConnection> {
  const uri = new URL(withCredentials(node.url, admin.user, admin.password));
  if (options.serverOnly) uri.pathname = '/';
  const conn = await mysql.createConnection({
    uri: uri.toString(),
    connectTimeout: timeoutMs,
    multipleStatements: false,
  });
  conn.on('error', () => undefined);
  return conn;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function rows(conn: AdminConnection, sql: string, params?: unknown[]): Promise<any[]> {
  const [result] = await conn.query(sql, params);
  return result as unknown[];
}

/** Reads the node's db_topology row; undefined if the table is missing (not migrated) or empty. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function readTopologyRecord(query: (sql: string) => Promise<any[]>): Promise<TopologyRecord | undefined> {
  try {
    const [row] = await query('SELECT primary_node, epoch, promoted_at_gtid, updated_at FROM db_topology WHERE id = 1');
    if (!row) return undefined;
    return {
      primary: String(row.primary_node),
      epoch: Number(row.epoch),
      promotedAtGtid: String(row.promoted_at_gtid ?? ''),
      updatedAt: Number(row.updated_at),
    };
  } catch (error) {
    if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE') return undefined;
    throw error;
  }
}

export async function probeNode(node: NodeSpec, admin: AdminCredentials, timeoutMs = 2000): Promise<NodeStatus> {
  const { host, port } = hostPort(node.url);
  const base: NodeStatus = { name: node.name, host, port, reachable: false };
  let conn: AdminConnection | undefined;
  let databaseMissing = false;
  try {
    conn = await adminConnect(node, admin, timeoutMs).catch(async (error: unknown) => {
      if (!isUnknownDatabase(error)) throw error;
      databaseMissing = true;
      return adminConnect(node, admin, timeoutMs, { serverOnly: true });
    });
    const c = conn;
    const [vars] = await rows(
      c,
      'SELECT @@GLOBAL.server_id AS server_id, @@GLOBAL.read_only AS ro, @@GLOBAL.gtid_current_pos AS cur, @@GLOBAL.gtid_binlog_pos AS bin',
    );
    const [slave] = await rows(c, 'SHOW SLAVE STATUS');
    const semi = Object.fromEntries(
      (
        await rows(
          c,
          "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')",
        )
      ).map((r) => [r.Variable_name, r.Value]),
    );
    const semiVars = Object.fromEntries(
      (
        await rows(
          c,
          "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('rpl_semi_sync_master_enabled', 'rpl_semi_sync_slave_enabled')",
        )
      ).map((r) => [r.Variable_name, r.Value]),
    );
    let epoch: number | undefined;
    let topology: TopologyRecord | undefined;
    if (!databaseMissing) {
      try {
        const [state] = await rows(c, 'SELECT epoch FROM cluster_state WHERE id = 1');
        epoch = state ? Number(state.epoch) : undefined;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw error;
      }
      topology = await readTopologyRecord((sql) => rows(c, sql));
    }
    return {
      ...base,
      reachable: true,
      serverId: Number(vars.server_id),
      readOnly: Number(vars.ro) === 1,
      currentGtid: String(vars.cur ?? ''),
      binlogGtid: String(vars.bin ?? ''),
      replica: slave
        ? {
            sourceHost: String(slave.Master_Host),
            sourcePort: Number(slave.Master_Port),
            ioRunning: slave.Slave_IO_Running === 'Yes',
            sqlRunning: slave.Slave_SQL_Running === 'Yes',
            secondsBehind: slave.Seconds_Behind_Master == null ? null : Number(slave.Seconds_Behind_Master),
            lastError: String(slave.Last_SQL_Error || slave.Last_IO_Error || ''),
            receivedGtid: String(slave.Gtid_IO_Pos ?? ''),
          }
        : undefined,
      semiSync: {
        sourceEnabled: semiVars.rpl_semi_sync_master_enabled === 'ON',
        sourceActive: semi.Rpl_semi_sync_master_status === 'ON',
        clients: Number(semi.Rpl_semi_sync_master_clients ?? 0),
        replicaEnabled: semiVars.rpl_semi_sync_slave_enabled === 'ON',
      },
      epoch,
      topology,
      ...(databaseMissing ? { databaseMissing } : {}),
    };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  } finally {
    await conn?.end().catch(() => conn?.destroy());
  }
}

export function probeAll(
  nodes: readonly NodeSpec[],
  admin: AdminCredentials,
  timeoutMs?: number,
): Promise<NodeStatus[]> {
  return Promise.all(nodes.map((n) => probeNode(n, admin, timeoutMs)));
}
