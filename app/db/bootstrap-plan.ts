// Whether `hyperstatic db bootstrap NODE` may open NODE as the first primary
// of a new cluster, as a pure function of one snapshot of every node
// (node-status.ts) and how much content NODE holds. Bootstrapping a node
// that already belongs to a cluster would give the cluster a second writable
// primary whose record competes with the real one, so every sign of
// membership refuses: a topology record anywhere, replication to or from
// NODE, another writable node, content on NODE.
import type { NodeStatus } from '../../common/db/node-status';
import { authoritativeRecord, hostPort, type NodeSpec } from '../../common/db/topology';
import { reachableTarget } from './plan-target';

export interface BootstrapPlan {
  node: string;
  /** Why NODE may not be bootstrapped; any one refuses (there is no --force). */
  problems: string[];
  steps: string[];
}

export function planBootstrap(
  nodes: readonly NodeSpec[],
  statuses: readonly NodeStatus[],
  nodeName: string,
  /** Rows in NODE's content tables (users, articles, events, media, journal); 0 for an empty or missing database. */
  contentRows: number,
): BootstrapPlan {
  const problems: string[] = [];
  const plan: BootstrapPlan = { node: nodeName, problems, steps: [] };
  const target = reachableTarget(nodes, statuses, nodeName, problems);
  if (!target) return plan;
  const { spec, node } = target;
  const record = authoritativeRecord(statuses.map((s) => s.topology));
  if (record) {
    const holders = statuses.filter((s) => s.topology).map((s) => s.name);
    problems.push(
      `the cluster already has a primary: ${record.primary} at epoch ${record.epoch} (recorded on ${holders.join(', ')}); ` +
        `bootstrap starts a new cluster only. Use \`hyperstatic db setup-replica ${nodeName}\` to add it, or \`hyperstatic db promote\` to move the primary`,
    );
  }
  if (node.replica) {
    problems.push(
      `${nodeName} is configured as a replica of ${node.replica.sourceHost}:${node.replica.sourcePort}; ` +
        `it belongs to a cluster already (RESET SLAVE ALL on it first if that cluster is gone)`,
    );
  }
  const { host, port } = hostPort(spec.url);
  for (const other of statuses) {
    if (other.name === nodeName || !other.reachable) continue;
    if (other.replica && other.replica.sourcePort === port && sameHost(other.replica.sourceHost, host))
      problems.push(`${other.name} already replicates from ${nodeName}: ${nodeName} is a primary already`);
    if (other.readOnly === false)
      problems.push(
        `${other.name} is writable (read_only = 0): another primary may be running; every node of a new cluster starts with read_only = 1`,
      );
  }
  if (contentRows > 0) {
    problems.push(
      `${nodeName} holds data (${contentRows} row(s) of users, articles, events, media or journal): it belongs to a site already. ` +
        `Bootstrap opens only an empty node; drop the database on ${nodeName} first if that data is not needed`,
    );
  }
  plan.steps.push(
    `create the database and the app and replication accounts on ${nodeName} (if missing)`,
    `apply the schema migrations on ${nodeName}`,
    `record ${nodeName} as primary (db_topology) at the database's epoch`,
    `semi-sync source side off until a replica follows (\`db setup-replica --semi-sync\` turns it on)`,
    `make ${nodeName} writable (SET GLOBAL read_only = 0)`,
  );
  return plan;
}

/** Whether two host names name the same host (localhost and ::1 are 127.0.0.1). */
export function sameHost(a: string, b: string): boolean {
  const local = (h: string) => (h === 'localhost' || h === '::1' ? '127.0.0.1' : h);
  return local(a) === local(b);
}
