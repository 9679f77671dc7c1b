// `hyperstatic db …`: schema migrations and the failover commands (status,
// promote, rejoin, setup-replica, bootstrap, reopen). The work is in app/db/; this file turns
// flags into calls and results into text or JSON.
import type { Command } from 'commander';
import { Config, loadConfig } from '../../common/config';
import { migrateLatest } from '../../app/db/migrate';
import { probeAll, NodeStatus } from '../../common/db/node-status';
import { currentPrimary, heldGtid } from '../../app/db/promotion-plan';
import { formatGtidPosition } from '../../common/db/gtid';
import { ClusterAccess, promote, PromoteResult } from '../../app/db/promote';
import { setupReplica } from '../../app/db/setup-replica';
import { registerBootstrap } from './db-bootstrap';
import { registerReopen } from './db-reopen';
import { configuredNodes } from '../../common/db/topology';
import { withDatabase } from '../cli-support';
import { formatTable } from '../text-table';
import { dialectOf, type Database } from '../../common/db/database';
import { createLogger } from '../../common/logger';
import { routerFor } from '../../common/db/router';
import { describeSemiSync } from '../../app/db/semi-sync-roles';

export function clusterAccess(config: Config): ClusterAccess {
  if (dialectOf(config.databaseUrl) === 'sqlite' && config.databaseNodes.length === 0) {
    throw new Error(
      'the failover commands need MariaDB/MySQL nodes (DATABASE_NODES or a mysql:// DATABASE_URL); SQLite has no replicas',
    );
  }
  return {
    nodes: configuredNodes(config),
    admin: { user: config.databaseAdminUser, password: config.databaseAdminPassword },
    replication: { user: config.databaseReplicationUser, password: config.databaseReplicationPassword },
  };
}

/** Runs `fn` on the current primary: with DATABASE_NODES that is whichever node the topology record names, not the first listed. */
export async function withPrimary<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  if (config.databaseNodes.length <= 1) return withDatabase(config, fn);
  const router = await routerFor(config, createLogger(config.logLevel, 'cli'));
  try {
    if (!router.state().writable)
      throw new Error(
        `the primary ${router.state().primary} is not writable (fenced or down); promote a replica first (a new cluster: \`hyperstatic db bootstrap ${router.state().primary}\`)`,
      );
    return await fn(router.primary());
  } finally {
    await router.close();
  }
}

export interface NodeRow {
  name: string;
  role: 'primary' | 'replica' | 'standalone' | 'unreachable';
  reachable: boolean;
  readOnly: boolean | null;
  gtidCurrent: string | null;
  gtidReceived: string | null;
  replicating: string | null;
  lagSeconds: number | null;
  semiSync: string | null;
  epoch: number | null;
  error?: string;
}

export function nodeRows(
  access: ClusterAccess,
  statuses: NodeStatus[],
): { primary: string; epoch: number; nodes: NodeRow[] } {
  const { name: primary, epoch } = currentPrimary(access.nodes, statuses);
  const nodes = statuses.map((s): NodeRow => {
    const role = !s.reachable ? 'unreachable' : s.name === primary ? 'primary' : s.replica ? 'replica' : 'standalone';
    return {
      name: s.name,
      role,
      reachable: s.reachable,
      readOnly: s.readOnly ?? null,
      gtidCurrent: s.reachable ? (s.currentGtid ?? '') : null,
      gtidReceived: s.reachable ? formatGtidPosition(heldGtid(s)) : null,
      replicating: s.replica
        ? `IO=${s.replica.ioRunning ? 'Yes' : 'No'} SQL=${s.replica.sqlRunning ? 'Yes' : 'No'} from ${s.replica.sourceHost}:${s.replica.sourcePort}`
        : s.databaseMissing
          ? 'empty: no database yet (`db bootstrap` or `db setup-replica` fills it)'
          : null,
      lagSeconds: s.replica ? s.replica.secondsBehind : s.reachable ? 0 : null,
      semiSync: describeSemiSync(role, s.semiSync),
      epoch: s.epoch ?? null,
      ...(s.error ? { error: s.error } : {}),
    };
  });
  return { primary, epoch, nodes };
}

export function nodeTable(rows: NodeRow[]): string {
  return formatTable(
    [
      'NODE',
      'ROLE',
      'READ_ONLY',
      'GTID (applied)',
      'GTID (received)',
      'LAG s',
      'SEMI-SYNC',
      'EPOCH',
      'REPLICATION / ERROR',
    ],
    rows.map((r) => [
      r.name,
      r.role,
      r.readOnly === null ? '-' : r.readOnly ? 'ON' : 'OFF',
      r.gtidCurrent ?? '-',
      r.gtidReceived ?? '-',
      r.lagSeconds === null ? '-' : String(r.lagSeconds),
      r.semiSync ?? '-',
      r.epoch === null ? '-' : String(r.epoch),
      r.error ?? r.replicating ?? '',
    ]),
  );
}

function printPlan(result: PromoteResult, out: (s: string) => void): void {
  const { plan } = result;
  out(
    `${result.executed ? 'Promoted' : 'Plan: promote'} ${plan.candidate} (primary now ${plan.oldPrimary}${plan.oldPrimaryReachable ? '' : ', unreachable'}; epoch ${plan.currentEpoch} -> ${plan.newEpoch})`,
  );
  plan.steps.forEach((s, i) => out(`  ${i + 1}. ${s}`));
  for (const w of plan.warnings) out(`  warning: ${w}`);
  for (const p of plan.problems) out(`  UNSAFE: ${p}`);
  if (!result.executed)
    out(
      plan.problems.length
        ? 'This promotion would be refused unless --force.'
        : 'Safe to promote: run again without --dry-run.',
    );
}

const out = (s: string) => process.stdout.write(`${s}\n`);

export function register(program: Command): void {
  const db = program
    .command('db')
    .description('Database commands: migrations, replication status, promotion, rejoin, replica setup');

  db.command('migrate')
    .description('Apply pending schema migrations (run by exactly one process: this command, or `all`)')
    .action(async () => {
      const applied = await withPrimary(loadConfig(), migrateLatest);
      out(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
    });

  db.command('status')
    .description('Every database node: role, reachability, read_only, GTID positions, lag, semi-sync state, epoch')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const access = clusterAccess(loadConfig());
      const view = nodeRows(access, await probeAll(access.nodes, access.admin));
      if (flags.json) out(JSON.stringify(view, null, 2));
      else out(`primary: ${view.primary}   epoch: ${view.epoch}\n${nodeTable(view.nodes)}`);
    });

  db.command('promote')
    .description(
      'Make NODE the primary: check it is caught up, fence the old primary, repoint replicas, raise the epoch',
    )
    .argument('<node>', 'name of the replica to promote (from DATABASE_NODES)')
    .option('--dry-run', 'print the plan and the safety verdict; change nothing')
    .option('--force', 'promote even if the checks found it unsafe (may lose or fork transactions)')
    .option('--catch-up-timeout <ms>', 'how long NODE may take to apply what it still has to', '10000')
    .action(promoteNode);

  // rejoin, diverged and reapply: bin/commands/db-diverged.ts

  db.command('setup-replica')
    .description(
      "Make NODE a GTID replica of the primary. An empty NODE (no database, or no tables) first gets a copy of the primary's database (mariadb-dump --single-transaction --master-data=2 --gtid piped into mariadb, run from this machine; both must be installed) at the copy's GTID position; a NODE restored from a backup needs --gtid",
    )
    .argument('<node>', 'name of the node (from DATABASE_NODES)')
    .option('--source <node>', 'replicate from this node instead of the primary')
    .option(
      '--semi-sync',
      'semi-synchronous replication, AFTER_SYNC (recommended: an acknowledged save survives the loss of the primary); default: on when the source already runs it',
    )
    .option(
      '--gtid <position>',
      'gtid_slave_pos to start from: the position of the backup NODE was restored from (not for an empty NODE)',
    )
    .action(async (node: string, flags: { source?: string; semiSync?: boolean; gtid?: string }) => {
      const access = clusterAccess(loadConfig());
      const statuses = await setupReplica(access, {
        node,
        source: flags.source,
        semiSync: flags.semiSync,
        startGtid: flags.gtid,
        log: (l) => out(`  ${l}`),
      });
      out(nodeTable(nodeRows(access, statuses).nodes));
    });

  registerBootstrap(db, { clusterAccess, out });
  registerReopen(db, { clusterAccess, out });
}

async function promoteNode(node: string, flags: { dryRun?: boolean; force?: boolean; catchUpTimeout: string }) {
  const catchUpTimeoutMs = Number(flags.catchUpTimeout);
  if (!Number.isInteger(catchUpTimeoutMs) || catchUpTimeoutMs < 0)
    throw new Error(`--catch-up-timeout: expected milliseconds, got ${JSON.stringify(flags.catchUpTimeout)}`);
  const access = clusterAccess(loadConfig());
  const result = await promote(access, node, {
    dryRun: flags.dryRun,
    force: flags.force,
    catchUpTimeoutMs,
    log: (l) => out(`  ${l}`),
  });
  printPlan(result, out);
  if (result.executed) out(`done in ${result.durationMs} ms`);
  // A dry run that would be refused fails too, so scripts can gate on it.
  else if (result.plan.problems.length > 0) process.exitCode = 1;
}
