// Carries out the plans of promotion-plan.ts against real servers through
// the operator's admin account: promote a replica, rejoin a returned node
// (setting up a replica is in setup-replica.ts). Every refusal happens before anything is changed; a
// failure after fencing lifts the fence again, so a refused promotion leaves
// the topology as it was.
import { HyperstaticError } from '../../common/errors';
import {
  adminConnect,
  AdminConnection,
  AdminCredentials,
  probeAll,
  probeNode,
  rows,
} from '../../common/db/node-status';
import { currentPrimary, planPromotion, planRejoin, PromotionPlan, RejoinPlan } from './promotion-plan';
import { hostPort, NodeSpec } from '../../common/db/topology';
import { recordSourceSide, waitForSemiSyncClient } from './semi-sync-roles';

export interface ClusterAccess {
  nodes: readonly NodeSpec[];
  admin: AdminCredentials;
  replication: { user: string; password: string };
}

export class PromotionRefusedError extends HyperstaticError {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super('HS_PROMOTION_REFUSED', 409, message);
  }
}

export interface PromoteOptions {
  dryRun?: boolean;
  force?: boolean;
  /** How long the candidate may take to apply what it still has to (default 10 s). */
  catchUpTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface PromoteResult {
  plan: PromotionPlan;
  executed: boolean;
  durationMs: number;
  /** ms since the start at which each step finished (checked, fenced, caughtUp, recorded, repointed, writable). */
  timeline: Record<string, number>;
}

export function spec(access: ClusterAccess, name: string): NodeSpec {
  const node = access.nodes.find((n) => n.name === name);
  if (!node) throw new PromotionRefusedError(`unknown node "${name}"`, [`unknown node "${name}"`]);
  return node;
}

export async function withAdmin<T>(
  access: ClusterAccess,
  name: string,
  fn: (conn: AdminConnection) => Promise<T>,
): Promise<T> {
  const conn = await adminConnect(spec(access, name), access.admin);
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

async function killClientSessions(conn: AdminConnection, access: ClusterAccess): Promise<number> {
  const sessions = await rows(
    conn,
    `SELECT ID FROM information_schema.PROCESSLIST
      WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Binlog Dump', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker')
        AND USER NOT IN ('system user', 'event_scheduler', ?, ?)`,
    [access.admin.user, access.replication.user],
  );
  for (const s of sessions) await rows(conn, 'KILL CONNECTION ?', [Number(s.ID)]).catch(() => undefined);
  return sessions.length;
}

/**
 * read_only = 1 and no client session left (pooled connections would keep
 * trying). SET GLOBAL read_only waits for writes in flight, and a write
 * queued behind a row lock whose holder can no longer commit would hold it
 * for innodb_lock_wait_timeout (50 s by default): a second connection keeps
 * killing client sessions until read_only is in place.
 */
export async function fence(conn: AdminConnection, node: NodeSpec, access: ClusterAccess): Promise<number> {
  const killer = await adminConnect(node, access.admin);
  let done = false;
  const killing = (async () => {
    let killed = 0;
    while (!done) {
      killed += await killClientSessions(killer, access).catch(() => 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return killed + (await killClientSessions(killer, access).catch(() => 0));
  })();
  try {
    await rows(conn, 'SET GLOBAL read_only = 1');
  } finally {
    done = true;
  }
  const killed = await killing;
  await killer.end().catch(() => killer.destroy());
  return killed;
}

async function gtidWait(conn: AdminConnection, position: string, timeoutMs: number): Promise<boolean> {
  if (!position) return true;
  const [r] = await rows(conn, 'SELECT MASTER_GTID_WAIT(?, ?) AS result', [position, timeoutMs / 1000]);
  return Number(r.result) === 0;
}

export async function replicateFrom(
  conn: AdminConnection,
  source: NodeSpec,
  access: ClusterAccess,
  usePos: 'slave_pos' | 'current_pos',
): Promise<void> {
  const { host, port } = hostPort(source.url);
  await rows(conn, 'STOP SLAVE');
  await rows(
    conn,
    `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = ${usePos}, MASTER_CONNECT_RETRY = 1`,
    [host, port, access.replication.user, access.replication.password],
  );
  await rows(conn, 'START SLAVE');
}

function refuse(what: string, problems: string[]): never {
  throw new PromotionRefusedError(
    `${what} refused (nothing was changed):\n${problems.map((p) => `  - ${p}`).join('\n')}\nUse --force only if you accept what is named above.`,
    problems,
  );
}

type Log = (line: string) => void;

/**
 * The candidate has applied everything the old primary wrote (when it is
 * reachable: fenced first, so nothing more arrives) or everything it received
 * (when it is not). Refuses, and reopens the old primary, otherwise.
 */
async function catchUp(
  access: ClusterAccess,
  plan: PromotionPlan,
  conns: { candidate: AdminConnection; old?: AdminConnection },
  options: { timeoutMs: number; force?: boolean; log: Log; mark: (step: string) => void },
): Promise<void> {
  const { candidate, old } = conns;
  const { timeoutMs, log } = options;
  if (old) {
    const killed = await fence(old, spec(access, plan.oldPrimary), access);
    options.mark('fenced');
    log(`fenced ${plan.oldPrimary}: read_only = 1, ${killed} client session(s) killed`);
    const [{ pos }] = await rows(old, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    if (!(await gtidWait(candidate, String(pos), timeoutMs))) {
      await rows(old, 'SET GLOBAL read_only = 0').catch(() => undefined);
      refuse(`promoting ${plan.candidate}`, [
        `${plan.candidate} did not apply ${plan.oldPrimary}'s ${pos} within ${timeoutMs} ms; ${plan.oldPrimary} is writable again`,
      ]);
    }
    log(`${plan.candidate} has applied everything ${plan.oldPrimary} wrote (${pos})`);
    return;
  }
  const [slave] = await rows(candidate, 'SHOW SLAVE STATUS');
  const received = String(slave?.Gtid_IO_Pos ?? '');
  if (!(await gtidWait(candidate, received, timeoutMs)) && !options.force) {
    refuse(`promoting ${plan.candidate}`, [
      `${plan.candidate} did not apply what it received (${received}) within ${timeoutMs} ms`,
    ]);
  }
  log(`${plan.candidate} has applied everything it received (${received || 'nothing'})`);
}

/**
 * Stops replication on the candidate and writes the new epoch and topology
 * record on it, with whether its semi-sync source side will be on
 * (semi-sync-roles.ts, recordSourceSide): the candidate is read_only until
 * promote() ends, so no client commits before the switch matches the record.
 */
async function recordPromotion(
  candidate: AdminConnection,
  plan: PromotionPlan,
  sourceOn: boolean,
  log: Log,
): Promise<void> {
  await rows(candidate, 'STOP SLAVE');
  await rows(candidate, 'RESET SLAVE ALL');
  const [{ cur }] = await rows(candidate, 'SELECT @@GLOBAL.gtid_current_pos AS cur');
  // The admin account may write through read_only: the record and the new
  // epoch are in place before any app can write, and replicate to every
  // node repointed below.
  await rows(candidate, 'START TRANSACTION');
  await rows(candidate, 'UPDATE cluster_state SET epoch = ? WHERE id = 1', [plan.newEpoch]);
  await rows(
    candidate,
    `INSERT INTO db_topology (id, primary_node, epoch, promoted_at_gtid, updated_at) VALUES (1, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE primary_node = VALUES(primary_node), epoch = VALUES(epoch), promoted_at_gtid = VALUES(promoted_at_gtid), updated_at = VALUES(updated_at)`,
    [plan.candidate, plan.newEpoch, String(cur), Date.now()],
  );
  await recordSourceSide(candidate, plan.candidate, sourceOn);
  await rows(candidate, 'COMMIT');
  log(`${plan.candidate} is primary at epoch ${plan.newEpoch} (took over at ${cur})`);
}

/** Points every other node at the new primary; returns how many now follow it. */
async function repointReplicas(
  access: ClusterAccess,
  plan: PromotionPlan,
  semiSync: boolean,
  log: Log,
): Promise<number> {
  const repointed = await Promise.allSettled(
    plan.repoint.map((name) =>
      withAdmin(access, name, async (conn) => {
        await rows(conn, 'SET GLOBAL read_only = 1');
        // The source side off whatever the mode: on a replica it stalls every replicated commit (semi-sync-roles.ts).
        await rows(conn, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF').catch(() => undefined);
        if (semiSync) await rows(conn, 'SET GLOBAL rpl_semi_sync_slave_enabled = ON').catch(() => undefined);
        // A former primary's own binlog is ahead of its (stale) slave position.
        await replicateFrom(
          conn,
          spec(access, plan.candidate),
          access,
          name === plan.oldPrimary ? 'current_pos' : 'slave_pos',
        );
      }),
    ),
  );
  repointed.forEach((r, i) =>
    log(
      r.status === 'fulfilled'
        ? `${plan.repoint[i]} now replicates from ${plan.candidate}`
        : `could not repoint ${plan.repoint[i]}: ${(r.reason as Error).message}`,
    ),
  );
  return repointed.filter((r) => r.status === 'fulfilled').length;
}

/** Waits for a semi-sync acknowledger, or turns semi-sync off when no replica follows. */
async function settleSemiSync(candidate: AdminConnection, name: string, followers: number, log: Log): Promise<void> {
  if (followers > 0) {
    // Opening before a replica acknowledges would only make the first
    // commits wait out rpl_semi_sync_master_timeout instead.
    log(
      (await waitForSemiSyncClient(candidate, 10_000))
        ? 'semi-sync (AFTER_SYNC) is on with at least one replica acknowledging'
        : 'semi-sync is on but no replica acknowledges yet: commits wait rpl_semi_sync_master_timeout',
    );
    return;
  }
  // Switched before it is recorded (a commit with the source side on and no
  // replica would wait out the timeout): the candidate is still read_only, so
  // no client commit falls between the two.
  await rows(candidate, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF');
  await recordSourceSide(candidate, name, false);
  log(`WARNING: no replica follows ${name}: it runs without semi-sync protection until one is set up`);
}

/** Checks, then (unless a dry run) moves the primary role to `candidateName`: fence, catch up, record, repoint, open. */
export async function promote(
  access: ClusterAccess,
  candidateName: string,
  options: PromoteOptions = {},
): Promise<PromoteResult> {
  const started = Date.now();
  const timeline: Record<string, number> = {};
  const mark = (step: string) => {
    timeline[step] = Date.now() - started;
  };
  const log = options.log ?? (() => undefined);
  const statuses = await probeAll(access.nodes, access.admin);
  // The primary may be writing while we look: read it again after the
  // replicas, so its position is at least what any of them holds and a
  // replica can only look ahead of it by real divergence.
  const primaryIndex = statuses.findIndex((s) => s.name === currentPrimary(access.nodes, statuses).name);
  if (primaryIndex >= 0 && statuses[primaryIndex].reachable)
    statuses[primaryIndex] = await probeNode(spec(access, statuses[primaryIndex].name), access.admin);
  const plan = planPromotion(access.nodes, statuses, candidateName);
  const status = new Map(statuses.map((s) => [s.name, s]));
  mark('checked');
  if (options.dryRun) return { plan, executed: false, durationMs: Date.now() - started, timeline };
  // An unknown, unreachable or current-primary candidate cannot be forced.
  if (!status.get(candidateName)?.reachable || candidateName === plan.oldPrimary)
    refuse(`promoting ${candidateName}`, plan.problems);
  if (plan.problems.length > 0 && !options.force) refuse(`promoting ${candidateName}`, plan.problems);

  const candidate = await adminConnect(spec(access, candidateName), access.admin);
  const old = plan.oldPrimaryReachable
    ? await adminConnect(spec(access, plan.oldPrimary), access.admin).catch(() => undefined)
    : undefined;
  try {
    const timeoutMs = options.catchUpTimeoutMs ?? 10_000;
    await catchUp(access, plan, { candidate, old }, { timeoutMs, force: options.force, log, mark });
    mark('caughtUp');
    const semiSync = Boolean(
      status.get(candidateName)?.semiSync?.replicaEnabled || status.get(plan.oldPrimary)?.semiSync?.sourceEnabled,
    );
    await recordPromotion(candidate, plan, semiSync && plan.repoint.length > 0, log);
    mark('recorded');

    // On before the replicas connect, so their dump threads start semi-sync
    // (the record above is already written, so nothing waits on it).
    if (semiSync && plan.repoint.length > 0) {
      await rows(candidate, "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
      await rows(candidate, 'SET GLOBAL rpl_semi_sync_master_enabled = ON');
    }
    const followers = await repointReplicas(access, plan, semiSync, log);
    mark('repointed');
    if (semiSync) {
      await settleSemiSync(candidate, candidateName, followers, log);
      if (followers > 0) mark('semiSync');
    }
    await rows(candidate, 'SET GLOBAL read_only = 0');
    mark('writable');
    log(`${candidateName} is writable`);
    return { plan, executed: true, durationMs: Date.now() - started, timeline };
  } finally {
    await candidate.end().catch(() => candidate.destroy());
    await old?.end().catch(() => old.destroy());
  }
}

export interface RejoinResult {
  plan: RejoinPlan;
  executed: boolean;
}

export async function rejoin(
  access: ClusterAccess,
  nodeName: string,
  options: { force?: boolean; timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<RejoinResult> {
  const log = options.log ?? (() => undefined);
  const statuses = await probeAll(access.nodes, access.admin);
  const plan = planRejoin(access.nodes, statuses, nodeName);
  const reachable = (name: string) => statuses.find((s) => s.name === name)?.reachable;
  if (
    plan.problems.length > 0 &&
    (!options.force || !reachable(nodeName) || !reachable(plan.primary) || nodeName === plan.primary)
  )
    refuse(`rejoining ${nodeName}`, plan.problems);
  const semiSync = Boolean(statuses.find((s) => s.name === plan.primary)?.semiSync?.sourceEnabled);
  await withAdmin(access, nodeName, async (conn) => {
    const killed = await fence(conn, spec(access, nodeName), access);
    log(`fenced ${nodeName}: read_only = 1, ${killed} client session(s) killed`);
    await rows(conn, 'SET GLOBAL rpl_semi_sync_master_enabled = OFF').catch(() => undefined);
    if (semiSync) await rows(conn, 'SET GLOBAL rpl_semi_sync_slave_enabled = ON');
    await replicateFrom(conn, spec(access, plan.primary), access, 'current_pos');
    const [{ pos }] = await withAdmin(access, plan.primary, (p) => rows(p, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos'));
    if (!(await gtidWait(conn, String(pos), options.timeoutMs ?? 30_000))) {
      const [slave] = await rows(conn, 'SHOW SLAVE STATUS');
      throw new PromotionRefusedError(
        `${nodeName} replicates from ${plan.primary} but has not caught up: ${slave?.Last_IO_Error || slave?.Last_SQL_Error || 'still applying'}`,
        [],
      );
    }
    log(`${nodeName} replicates from ${plan.primary} and has caught up (${pos})`);
  });
  return { plan, executed: true };
}
