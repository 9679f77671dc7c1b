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
