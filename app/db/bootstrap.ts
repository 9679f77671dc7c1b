// `hyperstatic db bootstrap NODE`: opens the first primary of a new cluster.
// Every node starts with read_only = 1 (docs/operations.md, MariaDB), and
// `db promote` needs a primary to take over from, so without this a new
// cluster needed a hand-typed SET GLOBAL read_only = 0 (issue 22). It does
// what a promotion does for the first time: database and accounts, schema,
// the topology record, the semi-sync role, then writable. The checks are in
// bootstrap-plan.ts; every refusal happens before anything changes.
import { createDatabase } from '../../common/db/database';
import { adminConnect, probeAll, rows, type AdminConnection } from '../../common/db/node-status';
import { hostPort, withCredentials } from '../../common/db/topology';
import { migrateLatest } from './migrate';
import { planBootstrap, type BootstrapPlan } from './bootstrap-plan';
import { createDatabaseIfMissing, ensureNodeAccounts } from './node-accounts';
import { ClusterAccess, PromotionRefusedError, spec } from './promote';
import { applySemiSyncRole, recordSourceSide } from './semi-sync-roles';

export interface BootstrapResult {
  plan: BootstrapPlan;
  executed: boolean;
  epoch?: number;
  migrations?: string[];
  gtid?: string;
}

/** Tables whose rows mean a node holds a site's content, not just its schema. */
const CONTENT_TABLES = ['users', 'articles', 'events', 'media', 'journal'];

async function contentRows(conn: AdminConnection, database: string): Promise<number> {
  const present = await rows(
    conn,
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (${CONTENT_TABLES.map(() => '?').join(', ')})`,
    [database, ...CONTENT_TABLES],
  );
  let total = 0;
  for (const { t } of present) {
    const [{ n }] = await rows(conn, 'SELECT COUNT(*) AS n FROM ??.??', [database, String(t)]);
    total += Number(n);
  }
  return total;
}

export async function bootstrap(
  access: ClusterAccess,
  nodeName: string,
  options: { dryRun?: boolean; log?: (line: string) => void } = {},
): Promise<BootstrapResult> {
  const log = options.log ?? (() => undefined);
  const statuses = await probeAll(access.nodes, access.admin);
  const status = statuses.find((s) => s.name === nodeName);
  let content = 0;
  if (status?.reachable && !status.databaseMissing) {
    const conn = await adminConnect(spec(access, nodeName), access.admin);
    try {
      content = await contentRows(conn, hostPort(spec(access, nodeName).url).database);
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  }
  const plan = planBootstrap(access.nodes, statuses, nodeName, content);
  if (plan.problems.length > 0)
    throw new PromotionRefusedError(
      `bootstrapping ${nodeName} refused (nothing was changed):\n${plan.problems.map((p) => `  - ${p}`).join('\n')}`,
      plan.problems,
    );
  if (options.dryRun) return { plan, executed: false };

  const node = spec(access, nodeName);
  const conn = await adminConnect(node, access.admin, 5000, { serverOnly: true });
  try {
    const database = await createDatabaseIfMissing(conn, node);
    const accounts = await ensureNodeAccounts(conn, { node, admin: access.admin, replication: access.replication });
    log(`database ${database} and account(s) ${accounts.join(', ')} exist on ${nodeName}`);

    // The admin account writes through read_only; the app cannot until the end.
    const db = createDatabase(withCredentials(node.url, access.admin.user, access.admin.password));
    let migrations: string[];
    try {
      migrations = await migrateLatest(db);
    } finally {
      await db.destroy();
    }
    log(migrations.length ? `applied migrations: ${migrations.join(', ')}` : 'schema is up to date');

    await rows(conn, 'USE ??', [database]);
    const [{ cur }] = await rows(conn, 'SELECT @@GLOBAL.gtid_current_pos AS cur');
    const [state] = await rows(conn, 'SELECT epoch FROM cluster_state WHERE id = 1');
    const epoch = Math.max(1, Number(state?.epoch ?? 1));
    await rows(conn, 'START TRANSACTION');
    await rows(conn, 'UPDATE cluster_state SET epoch = ? WHERE id = 1', [epoch]);
    await rows(
      conn,
      `INSERT INTO db_topology (id, primary_node, epoch, promoted_at_gtid, updated_at) VALUES (1, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE primary_node = VALUES(primary_node), epoch = VALUES(epoch), promoted_at_gtid = VALUES(promoted_at_gtid), updated_at = VALUES(updated_at)`,
      [nodeName, epoch, String(cur), Date.now()],
    );
    // The source side starts off (below); recorded so a crash before any replica follows counts as async.
    await recordSourceSide(conn, nodeName, false);
    await rows(conn, 'COMMIT');
    log(`${nodeName} is recorded as primary at epoch ${epoch}`);

    // No replica follows yet: the source side on would make every commit wait
    // out rpl_semi_sync_master_timeout. `db setup-replica --semi-sync` turns it on.
    await applySemiSyncRole(conn, 'primary', { semiSync: false });
    await rows(conn, 'SET GLOBAL read_only = 0');
    log(`${nodeName} is writable`);
    const [{ pos }] = await rows(conn, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    return { plan, executed: true, epoch, migrations, gtid: String(pos) };
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}
