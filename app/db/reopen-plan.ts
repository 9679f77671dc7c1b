// Whether `hyperstatic db reopen NODE` may make the recorded primary
// writable again after it restarted with no failover (a reboot, a MariaDB
// upgrade): every node starts fenced (read_only = 1, docs/operations.md,
// MariaDB), and `db promote` refuses the node that is already the primary,
// so without this the site stayed read-only until someone typed
// SET GLOBAL read_only = 0. A pure function of one snapshot of every node
// (node-status.ts). Reopening a node that is not, or no longer, the primary
// would give the cluster two writable primaries, so each doubt refuses:
// another record, another writable node, a replica holding what NODE lacks,
// a node that cannot be asked.
import type { NodeStatus } from '../../common/db/node-status';
import {
  formatGtidPosition,
  gtidConflicts,
  gtidContains,
  parseGtidPosition,
  type GtidPosition,
} from '../../common/db/gtid';
import { authoritativeRecord, hostPort, type NodeSpec } from '../../common/db/topology';
import { reachableTarget } from './plan-target';
import { sameHost } from './bootstrap-plan';
import { heldGtid } from './promotion-plan';

export interface ReopenPlan {
  node: string;
  epoch: number;
  /** Reachable replicas of NODE (by their source host and port). */
  replicas: string[];
  /** Whether those replicas acknowledge semi-sync (their replica side is on): the source side goes on. */
  semiSync: boolean;
  problems: string[];
  warnings: string[];
  steps: string[];
}

export function planReopen(
  nodes: readonly NodeSpec[],
  statuses: readonly NodeStatus[],
  nodeName: string,
  options: { ignoreUnreachable?: boolean } = {},
): ReopenPlan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const plan: ReopenPlan = { node: nodeName, epoch: 0, replicas: [], semiSync: false, problems, warnings, steps: [] };
  const target = reachableTarget(nodes, statuses, nodeName, problems);
  if (!target) return plan;
  const { spec, node } = target;
  const unreachable = statuses.filter((s) => !s.reachable).map((s) => s.name);
  if (unreachable.length > 0) {
    const text = `${unreachable.join(', ')} cannot be asked: a node promoted while ${nodeName} was down would hold the newer topology record`;
    if (options.ignoreUnreachable) warnings.push(text);
    else
      problems.push(
        `${text}. Start ${unreachable.length > 1 ? 'them' : 'it'} and run this again, or pass --ignore-unreachable if you know ${unreachable.length > 1 ? 'they were' : 'it was'} never promoted`,
      );
  }
  const record = authoritativeRecord(statuses.map((s) => s.topology));
  if (!record) {
    problems.push(
      `no node holds a topology record: a new cluster is opened with \`hyperstatic db bootstrap ${nodeName}\``,
    );
    return plan;
  }
  plan.epoch = record.epoch;
  if (record.primary !== nodeName) {
    problems.push(
      `${nodeName} is not the primary: the record names ${record.primary} at epoch ${record.epoch}. ` +
        `To move the primary use \`hyperstatic db promote\`; to bring ${nodeName} back as a replica, \`hyperstatic db rejoin ${nodeName}\``,
    );
    return plan;
  }
  if (node.readOnly === false) problems.push(`${nodeName} is writable already (read_only = 0): nothing to reopen`);
  if (node.replica)
    problems.push(
      `${nodeName} is configured as a replica of ${node.replica.sourceHost}:${node.replica.sourcePort}: ` +
        `a demoted node is not reopened; check \`hyperstatic db status\``,
    );
  // What NODE wrote; since the record's promotion every transaction of the cluster is NODE's own.
  const mine = parseGtidPosition(node.binlogGtid || node.currentGtid);
  const base = parseGtidPosition(record.promotedAtGtid);
  const { host, port } = hostPort(spec.url);
  for (const other of statuses) {
    if (other.name === nodeName || !other.reachable) continue;
    if (other.readOnly === false)
      problems.push(`${other.name} is writable (read_only = 0): the cluster may have another primary`);
    const held = heldGtid(other);
    if (writtenElsewhere(mine, held, base, node.serverId))
      problems.push(
        `${other.name} holds ${formatGtidPosition(held)}, which ${nodeName} (${formatGtidPosition(mine)}) did not write: ` +
          `it was written elsewhere; promote the most advanced node instead (\`hyperstatic db status\`, \`hyperstatic db promote\`)`,
      );
    if (other.replica && other.replica.sourcePort === port && sameHost(other.replica.sourceHost, host)) {
      plan.replicas.push(other.name);
      if (other.semiSync?.replicaEnabled) plan.semiSync = true;
    } else if (!other.replica)
      warnings.push(`${other.name} replicates from no one: \`hyperstatic db setup-replica ${other.name}\` adds it`);
  }
  if (plan.replicas.length > 0) plan.steps.push(`reconnect the replicas' I/O threads now: ${plan.replicas.join(', ')}`);
  plan.steps.push(
    plan.semiSync
      ? `semi-sync source side on (AFTER_SYNC), recorded in db_topology, once a replica acknowledges`
      : `semi-sync source side off (no replica acknowledges), recorded in db_topology`,
    `make ${nodeName} writable (SET GLOBAL read_only = 0) at epoch ${record.epoch}: apps and producers follow within a tenth of a second`,
  );
  return plan;
}

/**
 * Whether `held` (another node's history) has a transaction NODE did not
 * write: beyond NODE's binlog, a different server at the same position, or
 * another server's after the record's promotion of NODE.
 */
function writtenElsewhere(mine: GtidPosition, held: GtidPosition, base: GtidPosition, serverId?: number): boolean {
  const foreign = [...held.values()].some((g) => g.server !== serverId && g.seq > (base.get(g.domain)?.seq ?? 0));
  return foreign || !gtidContains(mine, held) || gtidConflicts(mine, held).length > 0;
}
