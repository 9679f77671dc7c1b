// The first checks every `hyperstatic db` plan makes of the node it was
// named: that it is one of the configured nodes, and that it answered the
// snapshot (node-status.ts). Shared so each command words them alike.
import type { NodeStatus } from '../../common/db/node-status';
import type { NodeSpec } from '../../common/db/topology';

/** The problem of naming a node that is not configured. */
export function unknownNode(nodes: readonly NodeSpec[], name: string): string {
  return `unknown node "${name}"; the configured nodes are ${nodes.map((n) => n.name).join(', ')}`;
}

/** The problem of a node that did not answer, with what that means for the command. */
export function unreachableNode(node: NodeStatus, consequence: string): string {
  return `${node.name} is unreachable (${node.error ?? 'no answer'}); ${consequence}`;
}

/**
 * NODE's configuration and status when it is configured and answered, or
 * undefined with the problem recorded: a plan that gets undefined stops there.
 */
export function reachableTarget(
  nodes: readonly NodeSpec[],
  statuses: readonly NodeStatus[],
  name: string,
  problems: string[],
): { spec: NodeSpec; node: NodeStatus } | undefined {
  const spec = nodes.find((n) => n.name === name);
  const node = statuses.find((s) => s.name === name);
  if (!spec || !node) {
    problems.push(unknownNode(nodes, name));
    return undefined;
  }
  if (!node.reachable) {
    problems.push(unreachableNode(node, 'start MariaDB on it first'));
    return undefined;
  }
  return { spec, node };
}
