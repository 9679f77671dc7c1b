// The database router's look at each node, through the node's own URL (the
// app's user, not the operator's admin account that node-status.ts uses):
// read_only and the node's copy of the topology record, and a replica's lag.
// One connection per node is kept between polls and dropped when it fails.
import mysql from 'mysql2/promise';
import { readTopologyRecord } from './node-status';
import type { NodeSpec, TopologyRecord } from './topology';

export interface NodeView {
  name: string;
  reachable: boolean;
  readOnly?: boolean;
  /** Seconds behind its source, for replicas that report it. */
  lagSeconds?: number | null;
  record?: TopologyRecord;
}

export interface SemiSyncView {
  /** rpl_semi_sync_master_enabled: the operator asked for semi-sync. */
  enabled: boolean;
  /** Rpl_semi_sync_master_status: commits wait for a replica's ack now (OFF after a fallback to async). */
  active: boolean;
}

export interface RouterProbes {
  /** The node as it answers now; unreachable (not thrown) when it does not. */
  look(node: NodeSpec): Promise<NodeView>;
  /** How far `replica` trails `primary`, in seconds; null when either cannot be asked. */
  lagOf(replica: NodeSpec, primary: NodeSpec): Promise<number | null>;
  /** The node's semi-sync source side; undefined when it cannot be asked or has no semi-sync. */
  semiSync(node: NodeSpec): Promise<SemiSyncView | undefined>;
  close(): void;
}

interface Probe {
  conn?: mysql.Connection;
  connecting?: Promise<mysql.Connection>;
}

const NEWEST_JOURNAL_ENTRY = 'SELECT created_at AS t FROM journal ORDER BY seq DESC LIMIT 1';

export function createRouterProbes(pollMs: number): RouterProbes {
  const probes = new Map<string, Probe>();
  // A node whose host stops answering (a partition, not a refusal) would
  // otherwise hold its probe, and with it every later poll, for ever.
  const queryTimeoutMs = Math.max(500, pollMs * 2);

  function connection(node: NodeSpec): Promise<mysql.Connection> {
    const p = probes.get(node.name) ?? {};
    probes.set(node.name, p);
    if (p.conn) return Promise.resolve(p.conn);
    p.connecting ??= mysql
      .createConnection({ uri: node.url.replace(/^mariadb:/, 'mysql:'), connectTimeout: Math.max(500, pollMs * 2) })
      .then(
        (conn) => {
          conn.on('error', () => {
            if (p.conn === conn) p.conn = undefined;
          });
          p.conn = conn;
          p.connecting = undefined;
          return conn;
        },
        (error) => {
          p.connecting = undefined;
          throw error;
        },
      );
    return p.connecting;
  }

  /** Drops a node's kept connection after a failure (a timed-out query leaves it unusable). */
  function forget(node: NodeSpec): void {
    const p = probes.get(node.name);
    p?.conn?.destroy();
    if (p) p.conn = undefined;
  }

  async function newestEntryAt(node: NodeSpec): Promise<unknown> {
    const [[row]] = (await (
      await connection(node)
    ).query({ sql: NEWEST_JOURNAL_ENTRY, timeout: queryTimeoutMs })) as unknown as [Record<string, unknown>[]];
    return row?.t;
  }

  return {
    async look(node) {
      try {
        const conn = await connection(node);
        const query = async (sql: string) =>
          (await conn.query({ sql, timeout: queryTimeoutMs }))[0] as Record<string, unknown>[];
        const [vars] = await query('SELECT @@GLOBAL.read_only AS ro');
        const record = await readTopologyRecord(query);
        return { name: node.name, reachable: true, readOnly: Number(vars.ro) === 1, record };
      } catch {
        forget(node);
        return { name: node.name, reachable: false };
      }
    },
    async lagOf(replica, primary) {
      try {
        // The app user cannot SHOW SLAVE STATUS; the journal's newest entry is a clock that replicates.
        const replicated = await newestEntryAt(replica);
        const head = await newestEntryAt(primary);
        if (head == null) return 0;
        return Math.max(0, (Number(head) - Number(replicated ?? 0)) / 1000);
      } catch {
        forget(replica);
        forget(primary);
        return null;
      }
    },
    async semiSync(node) {
      try {
        return await semiSyncOf(await connection(node), queryTimeoutMs);
      } catch {
        forget(node);
        return undefined;
      }
    },
    close() {
      for (const p of probes.values()) p.conn?.destroy();
    },
  };
}

/** The node's semi-sync source side. SHOW GLOBAL VARIABLES/STATUS need no privilege, so the app user can ask. */
async function semiSyncOf(conn: mysql.Connection, timeoutMs: number): Promise<SemiSyncView | undefined> {
  const values = async (sql: string) =>
    new Map(
      ((await conn.query({ sql, timeout: timeoutMs }))[0] as { Variable_name: string; Value: string }[]).map((r) => [
        r.Variable_name,
        r.Value,
      ]),
    );
  const vars = await values("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_master_enabled'");
  const status = await values("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'");
  const enabled = vars.get('rpl_semi_sync_master_enabled');
  if (enabled === undefined) return undefined;
  return { enabled: enabled === 'ON', active: status.get('Rpl_semi_sync_master_status') === 'ON' };
}
