// Which database nodes exist (configuration) and which one is the primary
// (the topology record). The record is a row in db_topology, written on the
// new primary by every promotion, so it replicates with everything else and
// survives restarts; the copy with the highest epoch wins, so a deposed
// primary that comes back still claiming to be primary is outvoted.

export type { NodeSpec } from './database';
export { parseNodeList } from './database';
import type { NodeSpec } from './database';

export interface TopologyRecord {
  readonly primary: string;
  readonly epoch: number;
  /** The new primary's gtid_current_pos when it was promoted: anything a returning node has beyond it is diverged history. */
  readonly promotedAtGtid: string;
  readonly updatedAt: number;
}

/** The configured nodes: DATABASE_NODES, or DATABASE_URL as one node named "primary". */
export function configuredNodes(config: { databaseUrl: string; databaseNodes?: readonly NodeSpec[] }): NodeSpec[] {
  if (config.databaseNodes && config.databaseNodes.length > 0) return [...config.databaseNodes];
  return [{ name: 'primary', url: config.databaseUrl }];
}

export function hostPort(url: string): { host: string; port: number; database: string } {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  return { host: u.hostname, port: Number(u.port || 3306), database: decodeURIComponent(u.pathname.slice(1)) };
}

/** The same server and database as `url`, with other credentials (the operator's admin account). */
export function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * The authoritative record among the copies read from reachable nodes: the
 * highest epoch. Undefined when no node has one yet (a fresh cluster before
 * the first promotion): the first configured node is then the primary.
 */
export function authoritativeRecord(records: (TopologyRecord | undefined)[]): TopologyRecord | undefined {
  let best: TopologyRecord | undefined;
  for (const r of records) if (r && (!best || r.epoch > best.epoch)) best = r;
  return best;
}
