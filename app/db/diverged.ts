// Gathers what divergence.ts decides on: the returning node's binlog from its
// first diverged transaction on (positions from SHOW BINLOG EVENTS, row
// images from mariadb-binlog), its semi-sync settings and restart time, the
// promotion time, and what the primary already has (Idempotency-Keys of
// retried saves, earlier re-applies). Reads only; nothing is changed.
import { HyperstaticError } from '../../common/errors';
import { formatGtidPosition, parseGtidPosition } from '../../common/db/gtid';
import { adminConnect, AdminConnection, probeAll, rows } from '../../common/db/node-status';
import { authoritativeRecord, hostPort } from '../../common/db/topology';
import { binlogText, parseVerboseBinlog, type BinlogTransaction } from './binlog-rows';
import { decodeBinlog } from './binlog-tools';
import {
  acknowledgement,
  type AckEvidence,
  divergedItems,
  isDivergedGtid,
  reapplyMarker,
  reapplyMarkerPrefix,
  sourceSideRan,
  type DivergedItem,
  type SourceSideRecord,
} from './divergence';
import type { ClusterAccess } from './promote';
import { planRejoin } from './promotion-plan';

export class DivergenceRefusedError extends HyperstaticError {
  constructor(message: string) {
    super('HS_DIVERGENCE_REFUSED', 409, message);
  }
}

export interface DivergenceReport {
  node: string;
  primary: string;
  /** The diverged GTIDs, oldest first. */
  gtids: string[];
  items: DivergedItem[];
  /** Why the items are (or are not) acknowledged. */
  acknowledgement: string;
  /** Where the node's binlog turns away from the primary's, and its GTID position there (what replication resumes from after a discard). */
  from?: { file: string; pos: number; gtidPosition: string };
  /** Every transaction of the node's binlog from `from` on (diverged or not): what a discard undoes. */
  tail: BinlogTransaction[];
}

/** The GTID events of one binlog file in order, read in pages (a binlog file may hold millions of events). */
async function* gtidEvents(conn: AdminConnection, file: string): AsyncGenerator<{ gtid: string; pos: number }> {
  const PAGE = 5000;
  for (let from = 4; ;) {
    const events = await rows(conn, `SHOW BINLOG EVENTS IN ? FROM ${from} LIMIT ${PAGE}`, [file]);
    for (const e of events)
      if (e.Event_type === 'Gtid') yield { gtid: /(\d+-\d+-\d+)/.exec(String(e.Info))?.[1] ?? '', pos: Number(e.Pos) };
    if (events.length < PAGE) return;
    from = Number(events[events.length - 1].End_log_pos);
  }
}

/** Binlog files newest first, back to the one holding the first diverged GTID: its file and position. */
async function divergedStart(
  conn: AdminConnection,
  diverged: (gtid: string) => boolean,
): Promise<{ file: string; pos: number } | undefined> {
  const files = (await rows(conn, 'SHOW BINARY LOGS')).map((f) => String(f.Log_name));
  let first: { file: string; pos: number } | undefined;
  for (const file of [...files].reverse()) {
    let startsInHistory: boolean | undefined;
    for await (const g of gtidEvents(conn, file)) {
      startsInHistory ??= !diverged(g.gtid);
      if (diverged(g.gtid)) {
        first = { file, pos: g.pos };
        break;
      }
    }
    // A file that starts with a transaction the cluster has holds the start of the divergence, if any.
    if (startsInHistory) break;
  }
  return first;
}

async function tableColumns(conn: AdminConnection, database: string): Promise<Map<string, string[]>> {
  const columns = new Map<string, string[]>();
  for (const c of await rows(
    conn,
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION',
    [database],
  )) {
    const list = columns.get(String(c.t)) ?? [];
    list.push(String(c.c));
    columns.set(String(c.t), list);
  }
  return columns;
}

/** The node's own db_topology row; undefined before migration 006, null fields before 015. */
async function localSourceRecord(conn: AdminConnection): Promise<SourceSideRecord | undefined> {
  try {
    const [row] = await rows(
      conn,
      'SELECT primary_node, semi_sync_source, semi_sync_source_at, semi_sync_source_gtid FROM db_topology WHERE id = 1',
    );
    if (!row) return undefined;
    return {
      primary: String(row.primary_node),
      on: row.semi_sync_source === null ? null : Boolean(Number(row.semi_sync_source)),
      at: row.semi_sync_source_at === null ? null : Number(row.semi_sync_source_at),
      gtid: row.semi_sync_source_gtid === null ? null : String(row.semi_sync_source_gtid),
    };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ER_NO_SUCH_TABLE') return undefined;
    if (code === 'ER_BAD_FIELD_ERROR') {
      const [row] = await rows(conn, 'SELECT primary_node FROM db_topology WHERE id = 1');
      return row ? { primary: String(row.primary_node), on: null, at: null } : undefined;
    }
    throw error;
  }
}

/**
 * What the node ran as (its recorded source side, sourceSideRan), its
 * timeout, and when it stopped writing as primary at the latest: the
 * promotion, or its restart.
 */
async function ackEvidence(
  conn: AdminConnection,
  nodeName: string,
  promotedAt: number | undefined,
  now: number,
): Promise<AckEvidence> {
  const vars = Object.fromEntries(
    (
      await rows(
        conn,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('rpl_semi_sync_master_enabled', 'rpl_semi_sync_master_timeout')",
      )
    ).map((v) => [v.Variable_name, String(v.Value)]),
  );
  const [uptime] = await rows(conn, "SHOW GLOBAL STATUS LIKE 'Uptime'");
  const startedAt = now - Number(uptime.Value) * 1000;
  return {
    ...sourceSideRan(nodeName, await localSourceRecord(conn), {
      enabled: vars.rpl_semi_sync_master_enabled === 'ON',
      startedAt,
    }),
    timeoutMs: Number(vars.rpl_semi_sync_master_timeout ?? 10_000),
    stoppedBy: Math.min(promotedAt ?? Infinity, startedAt),
  };
}

/** The idempotency keys the diverged transactions wrote that the primary holds too: those saves were retried there. */
async function retriedOnPrimary(
  primary: AdminConnection,
  database: string,
  transactions: BinlogTransaction[],
  keyColumns: readonly string[] | undefined,
): Promise<Set<string>> {
  const retried = new Set<string>();
  const user = (keyColumns?.indexOf('user_id') ?? -1) + 1;
  const key = (keyColumns?.indexOf('idem_key') ?? -1) + 1;
  if (!user || !key) return retried;
  for (const tx of transactions)
    for (const row of tx.rows) {
      if (row.table !== `${database}.idempotency_keys` || row.op !== 'insert' || !row.after) continue;
      const [found] = await rows(
        primary,
        `SELECT 1 AS x FROM \`${database}\`.idempotency_keys WHERE user_id = ? AND idem_key = ?`,
        [binlogText(row.after.get(user)), binlogText(row.after.get(key))],
      );
      if (found) retried.add(tx.gtid);
    }
  return retried;
}

/** What NODE holds that the primary lacks, as content. Refuses an unknown or unreachable node, or the primary itself. */
export async function findDivergence(
  access: ClusterAccess,
  nodeName: string,
  now: () => number = Date.now,
): Promise<DivergenceReport> {
  const statuses = await probeAll(access.nodes, access.admin);
  const plan = planRejoin(access.nodes, statuses, nodeName);
  const hard = plan.problems.filter((p) => !p.startsWith('GTID history diverged'));
  if (hard.length > 0) throw new DivergenceRefusedError(`${hard.join('; ')} (nothing was changed)`);
  const report: DivergenceReport = {
    node: nodeName,
    primary: plan.primary,
    gtids: [],
    items: [],
    acknowledgement: '',
    tail: [],
  };
  if (plan.problems.length === 0) return { ...report, acknowledgement: 'nothing diverged' };

  const node = statuses.find((s) => s.name === nodeName)!;
  const source = statuses.find((s) => s.name === plan.primary)!;
  const record = authoritativeRecord(statuses.map((s) => s.topology));
  const theirs = parseGtidPosition(source.currentGtid);
  const base = record?.promotedAtGtid ? parseGtidPosition(record.promotedAtGtid) : theirs;
  const diverged = (gtid: string) => gtid !== '' && isDivergedGtid(gtid, { serverId: node.serverId! }, base, theirs);
  const spec = access.nodes.find((n) => n.name === nodeName)!;
  const { database } = hostPort(spec.url);

  const conn = await adminConnect(spec, access.admin);
  const primary = await adminConnect(
    access.nodes.find((n) => n.name === plan.primary)!,
    access.admin,
  );
  try {
    const start = await divergedStart(conn, diverged);
    if (!start)
      throw new DivergenceRefusedError(
        `${nodeName} is ahead of ${plan.primary} (${node.currentGtid} vs ${source.currentGtid}) but its binlog no longer holds the transactions (purged?): rebuild it from a copy of ${plan.primary}`,
      );
    const [{ g }] = await rows(conn, 'SELECT BINLOG_GTID_POS(?, ?) AS g', [start.file, start.pos]);
    const tail = parseVerboseBinlog(await decodeBinlog(spec, access.admin, start));
    const transactions = tail.filter((t) => diverged(t.gtid));
    const columns = await tableColumns(conn, database);
    const users = new Map(
      (await rows(conn, `SELECT id, name FROM \`${database}\`.users`)).map((u) => [Number(u.id), String(u.name)]),
    );
    const ack = acknowledgement(transactions, await ackEvidence(conn, nodeName, record?.updatedAt, now()));
    const retried = await retriedOnPrimary(primary, database, transactions, columns.get('idempotency_keys'));
    const markers = new Set(
      (
        await rows(primary, `SELECT reason FROM \`${database}\`.revisions WHERE reason LIKE ?`, [
          `${reapplyMarkerPrefix(nodeName)}%`,
        ])
      ).map((r) => String(r.reason)),
    );
    const items = divergedItems(transactions, {
      database,
      columns,
      users,
      acknowledged: ack.acknowledged,
      onPrimary: (gtid) => retried.has(gtid),
      reapplied: () => false,
    });
    for (const item of items) item.reapplied = await alreadyOnPrimary(primary, database, nodeName, item, markers);
    return {
      ...report,
      gtids: transactions.map((t) => t.gtid),
      items,
      acknowledgement: ack.why,
      from: { ...start, gtidPosition: String(g ?? formatGtidPosition(base)) },
      tail,
    };
  } finally {
    await conn.end().catch(() => conn.destroy());
    await primary.end().catch(() => primary.destroy());
  }
}

/** Re-applied before: a revision carrying the marker (items), the same file (media), the same value (settings). */
async function alreadyOnPrimary(
  primary: AdminConnection,
  database: string,
  nodeName: string,
  item: DivergedItem,
  markers: Set<string>,
): Promise<boolean> {
  if (item.kind === 'article' || item.kind === 'event') return markers.has(reapplyMarker(nodeName, item));
  if (item.kind === 'media') {
    const [found] = await rows(primary, `SELECT 1 AS x FROM \`${database}\`.media WHERE sha256 = ?`, [item.id]);
    return Boolean(found);
  }
  if (item.kind === 'setting') {
    const [found] = await rows(primary, `SELECT value FROM \`${database}\`.settings WHERE name = ?`, [item.id]);
    return item.change === 'delete' ? !found : found?.value === item.title;
  }
  return false;
}
