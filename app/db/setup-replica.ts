// `hyperstatic db setup-replica NODE`: makes NODE a GTID replica of the
// primary. NODE either holds a copy already (restored from a backup; --gtid
// names the backup's position) or is empty (no database, or one without
// tables): then the primary's database is copied onto it first
// (seed-replica.ts), at the GTID position the copy was taken at. Refusals
// happen before anything is changed and suggest only flags that exist.
import { HyperstaticError } from '../../common/errors';
import { adminConnect, NodeStatus, probeAll, rows } from '../../common/db/node-status';
import { hostPort } from '../../common/db/topology';
import { planRejoin } from './promotion-plan';
import { ensureNodeAccounts } from './node-accounts';
import { ClusterAccess, PromotionRefusedError, replicateFrom, spec, withAdmin } from './promote';
import { seedFromSource, type SeedTools } from './seed-replica';
import { applySemiSyncRole, switchSourceSide } from './semi-sync-roles';

export interface SetupReplicaOptions {
  node: string;
  /** Defaults to the current primary. */
  source?: string;
  /** Semi-sync AFTER_SYNC; defaults to what the source already runs (its source side on). */
  semiSync?: boolean;
  /** gtid_slave_pos to start from (the position of the backup the replica was restored from). */
  startGtid?: string;
  tools?: SeedTools;
  log?: (line: string) => void;
}

function refuse(node: string, problems: string[]): never {
  throw new PromotionRefusedError(
    `setting up ${node} as a replica refused (nothing was changed):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    problems,
  );
}

/** A node with no database of the URL's name, or one without a single table: nothing to keep, so it is seeded. */
async function isEmpty(access: ClusterAccess, status: NodeStatus): Promise<boolean> {
  if (status.databaseMissing) return true;
  return withAdmin(access, status.name, async (conn) => {
    const [{ n }] = await rows(conn, 'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [
      hostPort(spec(access, status.name).url).database,
    ]);
    return Number(n) === 0;
  });
}

export async function setupReplica(access: ClusterAccess, options: SetupReplicaOptions): Promise<NodeStatus[]> {
  const log = options.log ?? (() => undefined);
  const statuses = await probeAll(access.nodes, access.admin);
  const plan = planRejoin(access.nodes, statuses, options.node);
  const source = options.source ?? plan.primary;
  // A diverged history is what setup-replica exists to repair; the rest refuses.
  const hard = plan.problems.filter((p) => !p.startsWith('GTID history diverged'));
  if (options.source && !access.nodes.some((n) => n.name === source)) hard.push(`unknown source node "${source}"`);
  if (source === options.node) hard.push(`${options.node} cannot replicate from itself`);
  const sourceStatus = statuses.find((s) => s.name === source);
  if (options.source && sourceStatus && !sourceStatus.reachable)
    hard.push(`the source ${source} is unreachable (${sourceStatus.error ?? 'no answer'})`);
  if (sourceStatus?.databaseMissing)
    hard.push(
      `the source ${source} has no database yet; a new cluster starts with \`hyperstatic db bootstrap ${source}\``,
    );
  if (hard.length > 0) refuse(options.node, hard);
  const status = statuses.find((s) => s.name === options.node)!;
  const empty = await isEmpty(access, status);
  if (empty && options.startGtid !== undefined)
    refuse(options.node, [
      `${options.node} is empty, so --gtid (the position of a restored backup) means nothing; ` +
        `leave it out and setup-replica copies ${source}'s database onto ${options.node} itself`,
    ]);
  const semiSync = options.semiSync ?? Boolean(sourceStatus?.semiSync?.sourceEnabled);
  const node = spec(access, options.node);

  const conn = await adminConnect(node, access.admin, 5000, { serverOnly: true });
  try {
    await rows(conn, 'SET GLOBAL read_only = 1');
    await rows(conn, 'STOP SLAVE');
    let startGtid = options.startGtid;
    if (empty) {
      // Its own binlog holds only what was typed on it before (the admin
      // account): GTIDs no other node has, which would count as diverged
      // history and collide with the primary's sequence numbers.
      await rows(conn, 'RESET SLAVE ALL');
      await rows(conn, 'RESET MASTER');
      log(`${options.node} is empty: copying ${source}'s database onto it (mariadb-dump | mariadb)`);
      const started = Date.now();
      const seeded = await seedFromSource(spec(access, source), node, access.admin, options.tools);
      startGtid = seeded.gtid;
      log(
        `copied ${(seeded.bytes / 1e6).toFixed(1)} MB in ${Date.now() - started} ms, taken at ${source}'s GTID ${seeded.gtid || '(none)'}`,
      );
    }
    await ensureNodeAccounts(conn, { node, admin: access.admin, replication: access.replication });
    await withAdmin(access, source, (c) =>
      ensureNodeAccounts(c, { node: spec(access, source), admin: access.admin, replication: access.replication }),
    );
    await applySemiSyncRole(conn, 'replica', { semiSync });
    if (startGtid !== undefined) await rows(conn, 'SET GLOBAL gtid_slave_pos = ?', [startGtid]);
    await replicateFrom(conn, spec(access, source), access, 'slave_pos');
    const deadline = Date.now() + 15_000;
    for (;;) {
      const [s] = await rows(conn, 'SHOW SLAVE STATUS');
      if (s?.Slave_IO_Running === 'Yes' && s?.Slave_SQL_Running === 'Yes') break;
      if (s?.Last_IO_Error || s?.Last_SQL_Error || Date.now() > deadline) {
        throw new HyperstaticError(
          'HS_REPLICA_SETUP_FAILED',
          500,
          `${options.node} does not replicate from ${source}: IO=${s?.Slave_IO_Running} SQL=${s?.Slave_SQL_Running} ${s?.Last_IO_Error || s?.Last_SQL_Error || ''}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
  log(`${options.node} replicates from ${source} with GTID${semiSync ? ' (replica side of semi-sync on)' : ''}`);
  if (semiSync) await enableSourceSide(access, source, source === plan.primary, log);
  return probeAll(access.nodes, access.admin);
}

/** The source side belongs on the primary only (semi-sync-roles.ts); an intermediate source stays async. */
async function enableSourceSide(
  access: ClusterAccess,
  source: string,
  isPrimary: boolean,
  log: (line: string) => void,
): Promise<void> {
  if (!isPrimary) {
    log(`${source} is not the primary: it relays without semi-sync (the source side belongs on the primary only)`);
    return;
  }
  await withAdmin(access, source, async (conn) => {
    // Recorded in the source's db_topology row too: after a crash its config says OFF (divergence.ts).
    const { acknowledging } = await switchSourceSide(conn, source, true);
    log(
      acknowledging
        ? `semi-sync AFTER_SYNC on ${source}, with at least one replica acknowledging`
        : 'WARNING: semi-sync is on but no replica acknowledges yet: commits wait rpl_semi_sync_master_timeout',
    );
  });
}
