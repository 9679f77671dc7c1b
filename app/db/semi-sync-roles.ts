// Semi-synchronous replication has two sides, and each belongs to one role:
// the source side (rpl_semi_sync_master_enabled) on the primary, whose
// commits wait for a replica's acknowledgement, and the replica side
// (rpl_semi_sync_slave_enabled) on replicas, which acknowledge. With the
// source side on, a replica (log_slave_updates) holds each replicated commit
// for rpl_semi_sync_master_timeout waiting for an acknowledgement no one
// sends, then reports "fell back to async" (issue 22: setup-replica took
// 10.4 s instead of 0.36 s). So a node's config enables neither source side
// (deploy/mariadb/60-hyperstatic.cnf) and every command that gives a node a
// role (bootstrap, promote, rejoin, setup-replica) sets both sides for it.
import { rows, type AdminConnection, type NodeStatus } from '../../common/db/node-status';

export type SemiSyncRole = 'primary' | 'replica';

/**
 * The primary: source side on (AFTER_SYNC) when semi-sync is wanted and a
 * replica will acknowledge, replica side off. A replica: source side off,
 * replica side as the cluster runs. Must run before START SLAVE on a
 * replica: the I/O thread reads the replica side when it connects.
 */
export async function applySemiSyncRole(
  conn: AdminConnection,
  role: SemiSyncRole,
  options: { semiSync: boolean },
): Promise<void> {
  if (role === 'primary') {
    await rows(conn, 'SET GLOBAL rpl_semi_sync_slave_enabled = OFF');
    await rows(conn, "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
    await rows(conn, `SET GLOBAL rpl_semi_sync_master_enabled = ${options.semiSync ? 'ON' : 'OFF'}`);
    return;
  }
  await rows(conn, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF');
  await rows(conn, `SET GLOBAL rpl_semi_sync_slave_enabled = ${options.semiSync ? 'ON' : 'OFF'}`);
}

export async function waitForSemiSyncClient(conn: AdminConnection, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [r] = await rows(conn, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'");
    if (Number(r?.Value ?? 0) >= 1) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Records on the primary, in its replicated db_topology row, whether its
 * source side is on and since when (migration 015). After a crash the live
 * variable says OFF (from the config), so this row, the crashed node's own
 * copy, is what `db rejoin` judges its tail by (divergence.ts). Written only
 * when the row names `node` as primary (a fresh, never recorded cluster gets
 * one at its epoch); false when there is nothing to record it in (a schema
 * before migration 015, or a row naming another node).
 */
export async function recordSourceSide(conn: AdminConnection, node: string, on: boolean): Promise<boolean> {
  try {
    const now = Date.now();
    // Read after the switch to on: every transaction beyond it was written with the source side on.
    const [{ pos }] = await rows(conn, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const updated = (await rows(
      conn,
      'UPDATE db_topology SET semi_sync_source = ?, semi_sync_source_at = ?, semi_sync_source_gtid = ? WHERE id = 1 AND primary_node = ?',
      [on ? 1 : 0, now, String(pos), node],
    )) as unknown as { affectedRows: number };
    if (updated.affectedRows > 0) return true;
    const inserted = (await rows(
      conn,
      `INSERT IGNORE INTO db_topology (id, primary_node, epoch, promoted_at_gtid, updated_at, semi_sync_source, semi_sync_source_at, semi_sync_source_gtid)
       SELECT 1, ?, COALESCE((SELECT MAX(epoch) FROM cluster_state), 1), '', ?, ?, ?, ?`,
      [node, now, on ? 1 : 0, now, String(pos)],
    )) as unknown as { affectedRows: number };
    return inserted.affectedRows > 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ER_BAD_FIELD_ERROR' || code === 'ER_NO_SUCH_TABLE' || code === 'ER_NO_DB_ERROR') return false;
    throw error;
  }
}

/**
 * Switches a writable primary's source side and records it, in the order
 * that keeps the record on the safe side (a tail wrongly judged
 * unacknowledged would discard saves a client was told succeeded): on is
 * switched first and recorded after a replica acknowledges (a commit before
 * that would wait out rpl_semi_sync_master_timeout), off is recorded first
 * and switched after. Between the two the record says "off", i.e. async.
 * Returns whether a replica acknowledges (on) and whether it was recorded.
 */
export async function switchSourceSide(
  conn: AdminConnection,
  node: string,
  on: boolean,
  waitMs = 5000,
): Promise<{ acknowledging: boolean; recorded: boolean }> {
  if (!on) {
    const recorded = await recordSourceSide(conn, node, false);
    await applySemiSyncRole(conn, 'primary', { semiSync: false });
    return { acknowledging: false, recorded };
  }
  await applySemiSyncRole(conn, 'primary', { semiSync: true });
  const acknowledging = await waitForSemiSyncClient(conn, waitMs);
  return { acknowledging, recorded: await recordSourceSide(conn, node, true) };
}

/**
 * What `db status` prints in its SEMI-SYNC column. "fell back to async"
 * is said only of the primary, the one node whose acknowledgements it is
 * about; a replica with the source side on is named as misconfigured.
 */
export function describeSemiSync(role: string, semi: NodeStatus['semiSync']): string | null {
  if (!semi) return null;
  if (role === 'primary') {
    if (!semi.sourceEnabled) return 'off';
    return `source ${semi.sourceActive ? 'ON' : 'OFF (fell back to async)'}, ${semi.clients} replica(s)`;
  }
  const replicaSide = semi.replicaEnabled ? 'replica ON' : 'off';
  return semi.sourceEnabled
    ? `${replicaSide}; source side also ON, which stalls its commits (SET GLOBAL rpl_semi_sync_master_enabled = OFF)`
    : replicaSide;
}
