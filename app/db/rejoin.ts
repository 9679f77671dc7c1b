// Rejoin a returned node as a replica of the primary, discarding what it
// holds that the cluster lacks when that loses nothing a client was told
// succeeded (docs/operations.md, "Bring the old primary back"). The typical
// case: a semi-sync primary killed while a commit waited for its replica's
// acknowledgement; crash recovery committed that transaction, which no
// replica has and no client was answered for. The discard inverts the
// binlog's row images, newest first (row-inversion.ts: what MariaDB's
// flashback does), then resets the node's binlog to the GTID position just
// before the first diverged transaction; replication then brings the node
// everything the primary wrote since. Anything acknowledged must be on the primary first
// (`db reapply`), or the operator says --force.
import { adminConnect, AdminConnection, rows } from '../../common/db/node-status';
import type { BinlogTransaction } from './binlog-rows';
import { findDivergence, DivergenceRefusedError, type DivergenceReport } from './diverged';
import { describeItem, discardBlockers } from './divergence';
import { fence, rejoin, type ClusterAccess } from './promote';
import { inversion, type TableShape } from './row-inversion';

export interface RejoinOptions {
  dryRun?: boolean;
  /** Discard even acknowledged changes; with schema changes, keep them and replicate on top (the old --force). */
  force?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface RejoinOutcome {
  report: DivergenceReport;
  /** The diverged GTIDs that were (dry run: would be) rolled back. */
  discarded: string[];
  executed: boolean;
  primary: string;
}

function refuseLost(report: DivergenceReport, force: boolean | undefined): void {
  const { lost, undoable } = discardBlockers(report.items);
  if (lost.length > 0 && !force)
    throw new DivergenceRefusedError(
      `rejoining ${report.node} refused (nothing was changed): discarding its diverged transactions would drop ${lost.length} change(s) a client may have been told succeeded, which ${report.primary} lacks:\n` +
        lost.map((i) => `  - ${describeItem(i)}`).join('\n') +
        `\n(${report.acknowledgement}). Save them on the primary first with \`hyperstatic db reapply ${report.node} --yes\`, then rejoin; --force discards them.`,
    );
  if (!undoable && !force)
    throw new DivergenceRefusedError(
      `rejoining ${report.node} refused (nothing was changed): its diverged transactions include schema changes (${report.items
        .filter((i) => i.kind === 'other')
        .map((i) => i.id)
        .join(
          ', ',
        )}), which the binlog cannot undo. Save what you need from it, then rebuild it from a copy of ${report.primary}, or --force to keep them and replicate on top (its history stays forked).`,
    );
}

/** Checks (and unless a dry run, carries out) the rejoin of NODE, discarding an unacknowledged diverged tail. */
export async function rejoinNode(
  access: ClusterAccess,
  nodeName: string,
  options: RejoinOptions = {},
): Promise<RejoinOutcome> {
  const log = options.log ?? (() => undefined);
  const report = await findDivergence(access, nodeName);
  const outcome = { report, discarded: report.gtids, executed: false, primary: report.primary };
  if (options.dryRun) return outcome;
  refuseLost(report, options.force);
  const { undoable } = discardBlockers(report.items);
  if (report.gtids.length === 0 || !undoable) {
    await rejoin(access, nodeName, { force: options.force, timeoutMs: options.timeoutMs, log });
    return { ...outcome, discarded: [], executed: true };
  }
  const spec = access.nodes.find((n) => n.name === nodeName)!;
  const conn = await adminConnect(spec, access.admin);
  let discarded: DivergenceReport;
  try {
    const killed = await fence(conn, spec, access);
    log(`fenced ${nodeName}: read_only = 1, ${killed} client session(s) killed`);
    await rows(conn, 'STOP SLAVE');
    // Read again now that nothing can write: the discard undoes exactly what this second look saw, and it must still be safe.
    discarded = await findDivergence(access, nodeName);
    refuseLost(discarded, options.force);
    const from = discarded.from;
    if (from && discarded.gtids.length > 0) {
      await undo(conn, discarded.tail);
      log(
        `rolled back ${discarded.gtids.length} diverged transaction(s) on ${nodeName}: ${discarded.gtids.join(', ')}`,
      );
      // The undone transactions stay in the binlog otherwise, and gtid_strict_mode would refuse the primary's
      // transactions with the same sequence numbers.
      await rows(conn, 'RESET MASTER');
      await rows(conn, 'SET GLOBAL gtid_slave_pos = ?', [from.gtidPosition]);
      log(`${nodeName} resumes from GTID ${from.gtidPosition || '(empty)'}`);
    }
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
  await rejoin(access, nodeName, { timeoutMs: options.timeoutMs, log });
  return { ...outcome, report: discarded, discarded: discarded.gtids, executed: true };
}

/** Columns and primary keys of every table the transactions touched. */
async function shapes(conn: AdminConnection, tail: readonly BinlogTransaction[]): Promise<Map<string, TableShape>> {
  const out = new Map<string, TableShape>();
  for (const table of new Set(tail.flatMap((t) => t.rows.map((r) => r.table)))) {
    const [db, name] = table.split('.');
    const columns = await rows(
      conn,
      'SELECT COLUMN_NAME AS c, COLUMN_KEY AS k FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [db, name],
    );
    const key = await rows(
      conn,
      "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
      [db, name],
    );
    if (columns.length > 0)
      out.set(table, { columns: columns.map((c) => String(c.c)), primaryKey: key.map((k) => String(k.c)) });
  }
  return out;
}

/**
 * Undoes the tail in one transaction, unlogged (the binlog is reset after),
 * without foreign key checks (the undo order is the reverse of a valid
 * order, but a parent may be restored after its child). Every statement must
 * touch exactly one row: anything else means the node is not what its binlog
 * says, and everything rolls back.
 */
async function undo(conn: AdminConnection, tail: readonly BinlogTransaction[]): Promise<void> {
  const statements = inversion(tail, await shapes(conn, tail));
  await rows(conn, 'SET SESSION sql_log_bin = 0');
  await rows(conn, 'SET SESSION foreign_key_checks = 0');
  await rows(conn, 'START TRANSACTION');
  try {
    for (const s of statements) {
      const [result] = await conn.query(s.sql, s.params);
      const affected = (result as { affectedRows?: number }).affectedRows ?? 0;
      if (affected !== 1)
        throw new DivergenceRefusedError(
          `undoing the diverged transactions failed (nothing was changed): ${s.sql} touched ${affected} rows`,
        );
    }
    await rows(conn, 'COMMIT');
  } catch (error) {
    await rows(conn, 'ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await rows(conn, 'SET SESSION foreign_key_checks = 1').catch(() => undefined);
    await rows(conn, 'SET SESSION sql_log_bin = 1').catch(() => undefined);
  }
}
