// A cluster started from nothing with the runbook's commands only
// (docs/operations.md, "From nothing to a three-node cluster"): three empty
// MariaDB servers configured as deploy/mariadb/60-hyperstatic.cnf sets every
// node, an operator account typed on each, then `db bootstrap`,
// `db migrate`, `db setup-replica` twice, `db status`, all through the real
// CLI. Then the semi-sync roles after a promotion and a rejoin, the
// refusals, and a primary restarted with no failover reopened by `db reopen`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDatabase, type Database } from '../../common/db/database';
import { createUser } from '../../app/auth/users';
import { queryUrl, startMariaDBNodes, waitForReplica, type BareNodes, type DbNode } from '../harness/mariadb';
import { runCli } from '../support/cli';

const ADMIN = { user: 'hs_admin', password: 'admin-test-password' };
const APP = { user: 'hyperstatic', password: 'app-test-password' };

interface StatusView {
  primary: string;
  epoch: number;
  nodes: { name: string; role: string; reachable: boolean; readOnly: boolean; semiSync: string | null }[];
}

/** The source side the node's db_topology row records for the primary it names (migration 015). */
async function recordedSource(node: DbNode): Promise<[string, number | null]> {
  const [r] = await node.query('SELECT primary_node, semi_sync_source FROM hyperstatic.db_topology WHERE id = 1');
  return [String(r.primary_node), r.semi_sync_source === null ? null : Number(r.semi_sync_source)];
}

async function semiSyncOf(node: DbNode) {
  const vars: { Variable_name: string; Value: string }[] = await node.query(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('rpl_semi_sync_master_enabled', 'rpl_semi_sync_slave_enabled', 'read_only')",
  );
  const status: { Variable_name: string; Value: string }[] = await node.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_status')",
  );
  const v = Object.fromEntries([...vars, ...status].map((r) => [r.Variable_name, r.Value]));
  return {
    source: v.rpl_semi_sync_master_enabled,
    replica: v.rpl_semi_sync_slave_enabled,
    readOnly: v.read_only,
    clients: Number(v.Rpl_semi_sync_master_clients),
    active: v.Rpl_semi_sync_master_status,
  };
}

describe('a cluster started from nothing by the runbook, and its semi-sync roles', () => {
  let bare: BareNodes;
  let env: NodeJS.ProcessEnv;
  const [db1, db2, db3] = [0, 1, 2].map((i) => () => bare.nodes[i]);
  const appUrl = (node: DbNode) => `mysql://${APP.user}:${APP.password}@127.0.0.1:${node.port}/hyperstatic`;
  const cli = (...args: string[]) => runCli(args, { env });

  async function status(): Promise<StatusView> {
    const run = await cli('db', 'status', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /fell back/);
    return JSON.parse(run.stdout) as StatusView;
  }

  async function withApp<T>(node: DbNode, fn: (db: Database) => Promise<T>): Promise<T> {
    const db = createDatabase(appUrl(node));
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  }

  before(async () => {
    bare = await startMariaDBNodes(3);
    // What the runbook has the operator type on each node (binlogged, as it would be).
    for (const node of bare.nodes) {
      await node.query(`CREATE USER '${ADMIN.user}'@'%' IDENTIFIED BY '${ADMIN.password}'`);
      await node.query(`GRANT ALL PRIVILEGES ON *.* TO '${ADMIN.user}'@'%' WITH GRANT OPTION`);
      // What the README's earlier config did on every node: the commands
      // must give each node its role's settings whatever its config says.
      await node.query('SET GLOBAL rpl_semi_sync_master_enabled = ON');
    }
    env = {
      ...process.env,
      LOG_LEVEL: 'silent',
      DATABASE_URL: appUrl(bare.nodes[0]),
      DATABASE_NODES: bare.nodes.map((n) => `${n.name}=${appUrl(n)}`).join(','),
      DATABASE_ADMIN_USER: ADMIN.user,
      DATABASE_ADMIN_PASSWORD: ADMIN.password,
      DATABASE_REPLICATION_USER: 'repl',
      DATABASE_REPLICATION_PASSWORD: 'repl-test-password',
    };
  });
  after(async () => {
    await bare?.stop();
  });

  test('`db status` shows empty nodes as reachable and empty, not as unreachable', async () => {
    const view = await status();
    assert.deepEqual(
      view.nodes.map((n) => [n.name, n.reachable, n.readOnly]),
      [
        ['db1', true, true],
        ['db2', true, true],
        ['db3', true, true],
      ],
    );
  });

  test('before bootstrap, migrate and setup-replica say that a new cluster starts with `db bootstrap`', async () => {
    const migrate = await cli('db', 'migrate');
    assert.equal(migrate.code, 1);
    assert.match(migrate.stderr, /hyperstatic db bootstrap db1/);
    const replica = await cli('db', 'setup-replica', 'db2');
    assert.equal(replica.code, 1);
    assert.match(
      replica.stderr,
      /the source db1 has no database yet; a new cluster starts with `hyperstatic db bootstrap db1`/,
    );
    assert.doesNotMatch(replica.stderr, /--force/);
  });

  test('`db bootstrap db1` opens the first primary: schema, accounts, topology record at epoch 1, writable', async () => {
    const run = await cli('db', 'bootstrap', 'db1');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /db1 is the primary of a new cluster \(epoch 1/);
    assert.match(run.stdout, /hyperstatic db setup-replica db2 --semi-sync/);
    const [record] = await db1().query('SELECT primary_node, epoch FROM hyperstatic.db_topology WHERE id = 1');
    assert.deepEqual({ ...record }, { primary_node: 'db1', epoch: 1 });
    const roles = await semiSyncOf(db1());
    assert.equal(roles.readOnly, 'OFF');
    assert.equal(roles.source, 'OFF', 'no replica follows yet, so the source side stays off');
    assert.deepEqual(await recordedSource(db1()), ['db1', 0], 'and the record says so (a crash now counts as async)');

    const migrate = await cli('db', 'migrate');
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, /schema is up to date/);
    // The app's own account (from DATABASE_NODES) writes on the new primary.
    await withApp(db1(), (db) => createUser(db, 'editor1', 'editor', null));
  });

  test('bootstrap refuses every node once the cluster exists, names why, and changes nothing', async () => {
    const again = await cli('db', 'bootstrap', 'db1');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /bootstrapping db1 refused \(nothing was changed\)/);
    assert.match(again.stderr, /the cluster already has a primary: db1 at epoch 1/);
    assert.match(again.stderr, /db1 holds data/);
    const other = await cli('db', 'bootstrap', 'db2');
    assert.equal(other.code, 1);
    assert.match(other.stderr, /already has a primary: db1/);
    assert.match(other.stderr, /db2 is writable|db1 is writable/);
    for (const run of [again, other]) assert.doesNotMatch(run.stderr, /--force/);
    assert.equal((await semiSyncOf(db2())).readOnly, 'ON');
    const [exists] = await db2().query("SHOW DATABASES LIKE 'hyperstatic'");
    assert.equal(exists, undefined, 'db2 got no database');
  });

  test('`db setup-replica` copies the primary onto an empty node and replicates, with semi-sync on the primary only', async () => {
    const run = await cli('db', 'setup-replica', 'db2', '--semi-sync');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /db2 is empty: copying db1's database onto it/);
    const [slave] = await db2().query('SHOW SLAVE STATUS');
    assert.equal(slave.Slave_IO_Running, 'Yes');
    assert.equal(slave.Slave_SQL_Running, 'Yes');
    const [copied] = await db2().query("SELECT name FROM hyperstatic.users WHERE name = 'editor1'");
    assert.equal(copied?.name, 'editor1', 'the copy holds what db1 held');
    // The admin account db2's operator typed was its own history: reset, so db2 owns no GTID db1 lacks.
    const [{ pos }] = await db2().query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    assert.doesNotMatch(String(pos), /\b0-2-/);

    const replicaRoles = await semiSyncOf(db2());
    assert.deepEqual([replicaRoles.readOnly, replicaRoles.source, replicaRoles.replica], ['ON', 'OFF', 'ON']);
    const primaryRoles = await semiSyncOf(db1());
    assert.equal(primaryRoles.source, 'ON');
    assert.ok(primaryRoles.clients >= 1, 'db2 acknowledges');
    assert.deepEqual(await recordedSource(db1()), ['db1', 1], 'the switch is recorded on the primary');
    await waitForReplica(db1(), db2());
    assert.deepEqual(await recordedSource(db2()), ['db1', 1], 'and replicates with the rest');

    await withApp(db1(), (db) => createUser(db, 'editor2', 'editor', null));
    await waitForReplica(db1(), db2());
    const [later] = await queryUrl(appUrl(db2()), "SELECT name FROM users WHERE name = 'editor2'");
    assert.equal(later?.name, 'editor2', 'what db1 writes next arrives, and the app account reads it on db2');
  });

  test('a second empty node follows the source in semi-sync mode without the flag; status shows no fallback', async () => {
    const run = await cli('db', 'setup-replica', 'db3');
    assert.equal(run.code, 0, run.stderr);
    const roles = await semiSyncOf(db3());
    assert.deepEqual([roles.readOnly, roles.source, roles.replica], ['ON', 'OFF', 'ON']);
    const view = await status();
    assert.equal(view.primary, 'db1');
    const byName = Object.fromEntries(view.nodes.map((n) => [n.name, n]));
    assert.match(byName.db1.semiSync ?? '', /^source ON, \d replica\(s\)/);
    assert.equal(byName.db2.semiSync, 'replica ON');
    assert.equal(byName.db3.semiSync, 'replica ON');
  });

  test('setup-replica refusals name the problem and suggest no flag that does not exist', async () => {
    const primary = await cli('db', 'setup-replica', 'db1');
    assert.equal(primary.code, 1);
    assert.match(primary.stderr, /setting up db1 as a replica refused \(nothing was changed\)/);
    assert.match(primary.stderr, /db1 is the primary/);
    const unknown = await cli('db', 'setup-replica', 'db9');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown node "db9"/);
    const self = await cli('db', 'setup-replica', 'db2', '--source', 'db2');
    assert.equal(self.code, 1);
    assert.match(self.stderr, /db2 cannot replicate from itself/);
    for (const run of [primary, unknown, self]) assert.doesNotMatch(run.stderr, /--force/);
    assert.equal((await semiSyncOf(db1())).readOnly, 'OFF', 'the primary is untouched');
  });

  test('promotion moves the semi-sync source side to the new primary and off the others', async () => {
    const run = await cli('db', 'promote', 'db2');
    assert.equal(run.code, 0, run.stderr);
    const [r1, r2, r3] = await Promise.all([db1(), db2(), db3()].map(semiSyncOf));
    assert.deepEqual([r2.readOnly, r2.source], ['OFF', 'ON']);
    assert.ok(r2.clients >= 1);
    for (const r of [r1, r3]) assert.deepEqual([r.readOnly, r.source, r.replica], ['ON', 'OFF', 'ON']);
    assert.deepEqual(await recordedSource(db2()), ['db2', 1], 'the new primary records its source side on');
    const view = await status();
    assert.equal(view.primary, 'db2');
  });

  test('the killed primary rejoins as a replica with the source side off; status shows no fallback', async () => {
    await db2().kill('SIGKILL');
    const promoted = await cli('db', 'promote', 'db1');
    assert.equal(promoted.code, 0, promoted.stderr);
    await db2().start();
    await db2().query('SET GLOBAL rpl_semi_sync_master_enabled = ON'); // as the earlier config would bring it up
    const rejoined = await cli('db', 'rejoin', 'db2');
    assert.equal(rejoined.code, 0, rejoined.stderr);
    const [r1, r2] = await Promise.all([db1(), db2()].map(semiSyncOf));
    assert.deepEqual([r2.readOnly, r2.source, r2.replica], ['ON', 'OFF', 'ON']);
    assert.deepEqual([r1.readOnly, r1.source], ['OFF', 'ON']);
    const deadline = Date.now() + 10_000;
    let view = await status();
    // The returning replica's acknowledgements start once its I/O thread reconnects.
    while (!/source ON, 2 replica/.test(view.nodes[0].semiSync ?? '') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      view = await status();
    }
    assert.equal(view.primary, 'db1');
    assert.deepEqual(
      view.nodes.map((n) => [n.name, n.role, n.semiSync]),
      [
        ['db1', 'primary', 'source ON, 2 replica(s)'],
        ['db2', 'replica', 'replica ON'],
        ['db3', 'replica', 'replica ON'],
      ],
    );
  });

  test('a primary restarted with no failover comes back fenced, and `db reopen` opens it again', async () => {
    await db1().stop(); // a reboot or an upgrade: no promotion
    await db1().start();
    assert.equal((await semiSyncOf(db1())).readOnly, 'ON', 'every node starts read_only = 1');
    const wrongNode = await cli('db', 'reopen', 'db2');
    assert.equal(wrongNode.code, 1);
    assert.match(wrongNode.stderr, /reopening db2 refused \(nothing was changed\)/);
    assert.match(wrongNode.stderr, /db2 is not the primary: the record names db1/);
    const dry = await cli('db', 'reopen', 'db1', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Plan: reopen db1/);
    assert.match(dry.stdout, /semi-sync source side on/);
    assert.equal((await semiSyncOf(db1())).readOnly, 'ON', 'a dry run changes nothing');

    const run = await cli('db', 'reopen', 'db1');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /db1 is the writable primary again \(epoch \d+\)/);
    const roles = await semiSyncOf(db1());
    assert.deepEqual([roles.readOnly, roles.source], ['OFF', 'ON']);
    assert.ok(roles.clients >= 1, 'the replicas reconnected and acknowledge');
    await withApp(db1(), (db) => createUser(db, 'editor3', 'editor', null));
    await waitForReplica(db1(), db2());
    const [copied] = await queryUrl(appUrl(db2()), "SELECT name FROM users WHERE name = 'editor3'");
    assert.equal(copied?.name, 'editor3');

    const again = await cli('db', 'reopen', 'db1');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /db1 is writable already/);
  });

  test('`db reopen` refuses while a node cannot be asked (it may hold a newer record), unless told it was never promoted', async () => {
    await db3().stop();
    await db1().stop();
    await db1().start();
    try {
      const refused = await cli('db', 'reopen', 'db1');
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /db3 cannot be asked: a node promoted while db1 was down would hold the newer topology record/,
      );
      assert.match(refused.stderr, /--ignore-unreachable/);
      assert.equal((await semiSyncOf(db1())).readOnly, 'ON', 'nothing changed');
      const run = await cli('db', 'reopen', 'db1', '--ignore-unreachable');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /warning: db3 cannot be asked/);
      assert.equal((await semiSyncOf(db1())).readOnly, 'OFF');
    } finally {
      await db3().start();
    }
  });
});
