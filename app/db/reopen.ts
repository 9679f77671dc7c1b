// `hyperstatic db reopen NODE`: makes the recorded primary writable again
// after it restarted with no failover. The checks are in reopen-plan.ts;
// every refusal happens before anything changes. It takes no new epoch:
// the primary has not moved, so mirrors and caches see nothing change.
import { probeAll, rows } from '../../common/db/node-status';
import { PromotionRefusedError, withAdmin, type ClusterAccess } from './promote';
import { planReopen, type ReopenPlan } from './reopen-plan';
import { switchSourceSide } from './semi-sync-roles';

export interface ReopenResult {
  plan: ReopenPlan;
  executed: boolean;
  /** Whether a replica acknowledges semi-sync commits (when the plan turned the source side on). */
  acknowledging?: boolean;
}

/** How long the source side waits for a replica's acknowledgement before reporting it missing (the node opens anyway). */
const ACK_WAIT_MS = 5000;

export async function reopen(
  access: ClusterAccess,
  nodeName: string,
  options: { dryRun?: boolean; ignoreUnreachable?: boolean; log?: (line: string) => void } = {},
): Promise<ReopenResult> {
  const log = options.log ?? (() => undefined);
  const statuses = await probeAll(access.nodes, access.admin);
  const plan = planReopen(access.nodes, statuses, nodeName, { ignoreUnreachable: options.ignoreUnreachable });
  if (plan.problems.length > 0)
    throw new PromotionRefusedError(
      `reopening ${nodeName} refused (nothing was changed):\n${plan.problems.map((p) => `  - ${p}`).join('\n')}`,
      plan.problems,
    );
  if (options.dryRun) return { plan, executed: false };

  // A replica's I/O thread retries a lost source only every MASTER_CONNECT_RETRY: ask it now.
  for (const replica of plan.replicas) {
    await withAdmin(access, replica, async (conn) => {
      await rows(conn, 'STOP SLAVE IO_THREAD');
      await rows(conn, 'START SLAVE IO_THREAD');
    });
    log(`${replica} reconnects to ${nodeName}`);
  }
  return withAdmin(access, nodeName, async (conn) => {
    const { acknowledging } = await switchSourceSide(conn, nodeName, plan.semiSync, ACK_WAIT_MS);
    if (plan.semiSync)
      log(
        acknowledging
          ? 'semi-sync source side on: a replica acknowledges'
          : `semi-sync source side on, but no replica acknowledged within ${ACK_WAIT_MS} ms: commits fall back to async until one does`,
      );
    else log('semi-sync source side off: no replica acknowledges');
    // The plan is seconds old by now (reconnects, the acknowledgement wait):
    // look again right before opening, so a promotion meanwhile is not undone.
    const statusesNow = await probeAll(access.nodes, access.admin);
    const again = planReopen(access.nodes, statusesNow, nodeName, { ignoreUnreachable: options.ignoreUnreachable });
    if (again.problems.length > 0)
      throw new PromotionRefusedError(
        `reopening ${nodeName} refused at the last check before opening (${nodeName} stays read-only):\n${again.problems.map((p) => `  - ${p}`).join('\n')}`,
        again.problems,
      );
    await rows(conn, 'SET GLOBAL read_only = 0');
    log(`${nodeName} is writable (epoch ${plan.epoch})`);
    return { plan, executed: true, acknowledging: plan.semiSync ? acknowledging : undefined };
  });
}
