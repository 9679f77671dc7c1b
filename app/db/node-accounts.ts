// The accounts every database node needs besides the operator's own: the
// app's ordinary user (from the node's DATABASE_NODES URL: ALL on its
// database and nothing global, so read_only fences it) and the replication
// user. Each node creates them for itself with sql_log_bin = 0: a replica
// seeded from a dump never sees the statements that made the primary's
// accounts, and a binlogged CREATE USER would reach replicas that already
// have it.
import { rows, type AdminConnection } from '../../common/db/node-status';
import { hostPort, type NodeSpec } from '../../common/db/topology';

export interface AccountsToEnsure {
  node: NodeSpec;
  admin: { user: string };
  replication: { user: string; password: string };
}

/** The app user and password named in the node's URL, if it names one other than the admin. */
function appAccount(node: NodeSpec, adminUser: string): { user: string; password: string } | undefined {
  const u = new URL(node.url.replace(/^mariadb:/, 'mysql:'));
  const user = decodeURIComponent(u.username);
  if (!user || user === adminUser) return undefined;
  return { user, password: decodeURIComponent(u.password) };
}

export async function createDatabaseIfMissing(conn: AdminConnection, node: NodeSpec): Promise<string> {
  const { database } = hostPort(node.url);
  await rows(conn, 'CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', [database]);
  return database;
}

/** Creates what is missing; an existing account keeps its password. Returns the accounts it made sure of. */
export async function ensureNodeAccounts(conn: AdminConnection, accounts: AccountsToEnsure): Promise<string[]> {
  const { database } = hostPort(accounts.node.url);
  const app = appAccount(accounts.node, accounts.admin.user);
  await rows(conn, 'SET SESSION sql_log_bin = 0');
  try {
    const { user, password } = accounts.replication;
    await rows(conn, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, '%', password]);
    await rows(conn, 'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ?@?', [user, '%']);
    if (app) {
      await rows(conn, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [app.user, '%', app.password]);
      // Deliberately nothing global: SUPER or READ_ONLY ADMIN would let the app write through read_only.
      await rows(conn, 'GRANT ALL ON ??.* TO ?@?', [database, app.user, '%']);
    }
  } finally {
    await rows(conn, 'SET SESSION sql_log_bin = 1');
  }
  return [accounts.replication.user, ...(app ? [app.user] : [])];
}
