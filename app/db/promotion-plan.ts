// The promotion and rejoin safety checks, as pure functions of one snapshot
// of every node (node-status.ts). They decide whether a promotion is safe and
// what it will do; promote.ts only carries the plan out. A refusal names the
// node and the GTIDs involved so the operator can judge a --force.
import {
  formatGtidPosition,
  GtidPosition,
  gtidConflicts,
  gtidContains,
  gtidDistance,
  parseGtidPosition,
} from '../../common/db/gtid';
import type { NodeStatus } from '../../common/db/node-status';
import { authoritativeRecord, NodeSpec } from '../../common/db/topology';
import { unknownNode, unreachableNode } from './plan-target';

export interface PromotionPlan {
  candidate: string;
  oldPrimary: string;
  oldPrimaryReachable: boolean;
  currentEpoch: number;
  newEpoch: number;
  /** Reachable nodes to point at the candidate once it is writable (other replicas, and the fenced old primary). */
  repoint: string[];
  /** Nodes that could not be reached; they are left alone and must be rejoined later. */
  unreachable: string[];
  /** Why the promotion is unsafe; it is refused unless forced. */
  problems: string[];
  warnings: string[];
  steps: string[];
}

export interface RejoinPlan {
  node: string;
  primary: string;
  problems: string[];
  steps: string[];
}

/** Everything a node holds or has received: its applied position merged with its relay log's. */
export function heldGtid(status: NodeStatus): GtidPosition {
  const merged = new Map(parseGtidPosition(status.currentGtid));
  for (const [domain, g] of parseGtidPosition(status.replica?.receivedGtid)) {
    const mine = merged.get(domain);
    if (!mine || mine.seq < g.seq) merged.set(domain, g);
  }
  return merged;
}

export function currentPrimary(
  nodes: readonly NodeSpec[],
  statuses: readonly NodeStatus[],
): { name: string; epoch: number } {
  const record = authoritativeRecord(statuses.map((s) => s.topology));
  const epoch = Math.max(0, ...statuses.map((s) => Math.max(s.epoch ?? 0, s.topology?.epoch ?? 0)));
  return { name: record?.primary ?? nodes[0].name, epoch };
}

export function planPromotion(
  nodes: readonly NodeSpec[],
  statuses: readonly NodeStatus[],
  candidateName: string,
): PromotionPlan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const { name: oldPrimary, epoch: currentEpoch } = currentPrimary(nodes, statuses);
  const old = byName.get(oldPrimary);
  const candidate = byName.get(candidateName);
  const plan: PromotionPlan = {
    candidate: candidateName,
    oldPrimary,
    oldPrimaryReachable: Boolean(old?.reachable),
    currentEpoch,
    newEpoch: currentEpoch + 1,
    repoint: [],
    unreachable: statuses.filter((s) => !s.reachable).map((s) => s.name),
    problems,
    warnings,
    steps: [],
  };

  if (!candidate) {
    problems.push(unknownNode(nodes, candidateName));
    return plan;
  }
  if (candidateName === oldPrimary) {
    problems.push(`${candidateName} is already the primary (epoch ${currentEpoch}); nothing to promote`);
    return plan;
  }
  if (!candidate.reachable) {
    problems.push(unreachableNode(candidate, 'a node that cannot be checked cannot be promoted'));
    return plan;
  }
  if (!candidate.replica) {
    problems.push(
      `${candidateName} is not a replica (no replication configured), so nothing says it has the primary's data`,
    );
  }

  const held = heldGtid(candidate);
  const applied = parseGtidPosition(candidate.currentGtid);
  if (candidate.replica && !candidate.replica.sqlRunning && !gtidContains(applied, held)) {
    problems.push(
      `${candidateName} is behind: it received ${formatGtidPosition(held)} but applied only ${formatGtidPosition(applied)}, and its SQL thread is stopped` +
        (candidate.replica.lastError ? ` (${candidate.replica.lastError})` : ''),
    );
  }

  checkOldPrimary(plan, candidate, old);
  checkOtherNodes(plan, candidate, statuses, Boolean(old?.reachable));

  const writable = statuses.filter((s) => s.reachable && s.readOnly === false && s.name !== oldPrimary);
  if (writable.length > 0) {
    problems.push(
      `two writable nodes: ${[oldPrimary, ...writable.map((s) => s.name)].join(' and ')} have read_only = 0; writes may have reached a node that is not the primary. ` +
        'Set read_only = 1 on the replicas (and check their GTIDs) before promoting',
    );
  }

  plan.steps.push(
    `stop replication on ${candidateName} and forget its source`,
    `raise the epoch to ${plan.newEpoch} and record ${candidateName} as primary (db_topology) on ${candidateName}`,
  );
  if (old?.reachable) plan.repoint.push(oldPrimary);
  for (const name of plan.repoint)
    plan.steps.push(
      `point ${name} at ${candidateName} (GTID replication${name === oldPrimary ? ', stays read-only' : ''})`,
    );
  plan.steps.push(
    `make ${candidateName} writable (SET GLOBAL read_only = 0); apps and producers follow within their topology poll interval`,
  );
  for (const name of plan.unreachable)
    if (name !== oldPrimary)
      warnings.push(`${name} is unreachable and is left alone; rejoin it later with \`hyperstatic db rejoin ${name}\``);
  return plan;
}

export function planRejoin(nodes: readonly NodeSpec[], statuses: readonly NodeStatus[], nodeName: string): RejoinPlan {
  const problems: string[] = [];
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const record = authoritativeRecord(statuses.map((s) => s.topology));
  const primary = record?.primary ?? nodes[0].name;
  const plan: RejoinPlan = { node: nodeName, primary, problems, steps: [] };
  const node = byName.get(nodeName);
  if (!node) {
    problems.push(unknownNode(nodes, nodeName));
    return plan;
  }
  if (nodeName === primary) {
    problems.push(`${nodeName} is the primary; only a node that is not the primary can rejoin as its replica`);
    return plan;
  }
  if (!node.reachable) {
    problems.push(`${nodeName} is unreachable (${node.error ?? 'no answer'})`);
    return plan;
  }
  const source = byName.get(primary);
  if (!source?.reachable) {
    problems.push(
      `the primary ${primary} is unreachable (${source?.error ?? 'no answer'}); there is nothing to rejoin`,
    );
    return plan;
  }
  const mine = parseGtidPosition(node.currentGtid);
  const theirs = parseGtidPosition(source.currentGtid);
  // What the primary had when it took over. A transaction the node wrote
  // itself beyond that point (e.g. acknowledged by a deposed primary after the
  // last replica got it) exists nowhere else: replicating on top of it would
  // fork the history. MariaDB's gtid_strict_mode catches the remaining cases
  // when replication starts (error 1236).
  const base = record?.promotedAtGtid ? parseGtidPosition(record.promotedAtGtid) : theirs;
  const reasons = gtidConflicts(mine, theirs);
  for (const [domain, g] of mine) {
    const t = theirs.get(domain);
    if (!t || g.seq > t.seq)
      reasons.push(
        `domain ${domain}: ${nodeName} is at ${g.domain}-${g.server}-${g.seq}, ahead of ${primary} (${t ? `${t.domain}-${t.server}-${t.seq}` : 'nothing'})`,
      );
    else if (g.server === node.serverId && g.seq > (base.get(domain)?.seq ?? 0)) {
      reasons.push(
        `domain ${domain}: ${nodeName} wrote ${g.domain}-${g.server}-${g.seq} itself after ${primary} took over at ${formatGtidPosition(base)}`,
      );
    }
  }
  if (reasons.length > 0) {
    problems.push(
      `GTID history diverged: ${nodeName} holds ${formatGtidPosition(mine)}, ${primary} ${formatGtidPosition(theirs)} (${reasons.join('; ')}). ` +
        `Those transactions exist only on ${nodeName}; save what you need from it, then rebuild it from a copy of ${primary} and run \`hyperstatic db setup-replica\``,
    );
  }
  plan.steps.push(
    `fence ${nodeName}: SET GLOBAL read_only = 1 and kill its client sessions`,
    `point ${nodeName} at ${primary} with GTID replication (MASTER_USE_GTID=slave_pos) and start it`,
    `wait until ${nodeName} has applied everything ${primary} wrote`,
  );
  return plan;
}

/** With the old primary reachable: the candidate must not hold what it never wrote; else warn it cannot be fenced. */
function checkOldPrimary(plan: PromotionPlan, candidate: NodeStatus, old: NodeStatus | undefined): void {
  const { problems, warnings, oldPrimary, candidate: candidateName } = plan;
  const held = heldGtid(candidate);
  if (old?.reachable) {
    const written = parseGtidPosition(old.binlogGtid);
    const conflicts = gtidConflicts(held, written);
    if (conflicts.length > 0 || !gtidContains(written, held)) {
      problems.push(
        `GTID history diverged: ${candidateName} holds ${formatGtidPosition(held)}, which the primary ${oldPrimary} (${formatGtidPosition(written)}) never wrote${conflicts.length ? ` (${conflicts.join('; ')})` : ''}`,
      );
    }
    const missing = gtidDistance(written, held);
    if (missing > 0 && candidate.replica && !(candidate.replica.ioRunning && candidate.replica.sqlRunning)) {
      problems.push(
        `${candidateName} is behind: ${missing} transaction(s) short of ${oldPrimary} (${formatGtidPosition(held)} < ${formatGtidPosition(written)}) and its replication is stopped ` +
          `(IO=${candidate.replica.ioRunning ? 'Yes' : 'No'}, SQL=${candidate.replica.sqlRunning ? 'Yes' : 'No'}), so it would never catch up`,
      );
    }
    plan.steps.push(
      `fence ${oldPrimary}: SET GLOBAL read_only = 1 and kill its client sessions`,
      `wait until ${candidateName} has applied everything ${oldPrimary} wrote (now ${formatGtidPosition(written)}${missing ? `, ${missing} transaction(s) to go` : ''})`,
    );
  } else {
    warnings.push(
      `the primary ${oldPrimary} is unreachable${old?.error ? ` (${old.error})` : ''}: it cannot be fenced; keep it down until \`hyperstatic db rejoin ${oldPrimary}\`, ` +
        'and anything it acknowledged that no replica received is lost (semi-sync prevents that)',
    );
    plan.steps.push(`wait until ${candidateName} has applied everything it received (${formatGtidPosition(held)})`);
  }
}

/** Every other reachable node is repointed; its history must agree with the candidate's. */
function checkOtherNodes(
  plan: PromotionPlan,
  candidate: NodeStatus,
  statuses: readonly NodeStatus[],
  oldReachable: boolean,
): void {
  const { problems, oldPrimary, candidate: candidateName } = plan;
  const held = heldGtid(candidate);
  for (const other of statuses) {
    if (other.name === candidateName || other.name === oldPrimary || !other.reachable) continue;
    const theirs = heldGtid(other);
    const conflicts = gtidConflicts(held, theirs);
    if (conflicts.length > 0)
      problems.push(`GTID history diverged between ${candidateName} and ${other.name}: ${conflicts.join('; ')}`);
    // With the primary alive the candidate catches up with it (and so with
    // every replica of it) after the fence; only a dead primary makes the
    // most advanced replica the only safe choice.
    else if (!oldReachable && !gtidContains(held, theirs)) {
      problems.push(
        `${candidateName} is behind ${other.name}: ${other.name} holds ${formatGtidPosition(theirs)} but ${candidateName} only ${formatGtidPosition(held)} ` +
          `(${gtidDistance(theirs, held)} transaction(s)); promote ${other.name} instead, or --force to lose them`,
      );
    }
    plan.repoint.push(other.name);
  }
}
