// The harness is what every integration and failover test stands on; these
// tests pin down the properties those tests assume of it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { appUrl, Cluster, queryUrl, startMariaDBCluster, waitForReplica } from '../harness/mariadb';
import { startRedis } from '../harness/redis';
import { SharedCluster, sharedCluster, SharedDatabase, sharedDatabase, sharedRedisUrl } from '../harness/shared';

async function pingRedis(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The refused connection is what some callers expect; it surfaces through connect()'s rejection.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

describe('shared MariaDB cluster', () => {
  let cluster: SharedCluster;
  let db: SharedDatabase;

  before(async () => {
    cluster = await sharedCluster();
    db = await sharedDatabase('harness');
    await queryUrl(db.primaryUrl, 'CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100) NOT NULL)');
  });
  after(async () => {
    await db?.drop();
  });

  it('shows a row written on the primary on the replica once waitForReplica returns', async () => {
    await queryUrl(db.primaryUrl, 'INSERT INTO notes VALUES (1, ?)', ['written on the primary ✓']);
    await waitForReplica(cluster.primary, cluster.replicas[0]);
    const rows = await queryUrl(db.replicaUrl, 'SELECT body FROM notes WHERE id = 1');
    assert.deepEqual(rows, [{ body: 'written on the primary ✓' }]);
  });

  it("leaves the replica at exactly the primary's GTID position after catching up", async () => {
    await queryUrl(db.primaryUrl, 'INSERT INTO notes VALUES (2, ?)', ['another']);
    await waitForReplica(cluster.primary, cluster.replicas[0]);
    const [{ pos }] = await cluster.primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const [{ applied }] = await cluster.replicas[0].query('SELECT @@GLOBAL.gtid_slave_pos AS applied');
    assert.match(pos, /^0-1-\d+$/);
    assert.equal(applied, pos);
  });

  it('refuses the app user SET GLOBAL read_only = 0, so read_only fences it', async () => {
    await assert.rejects(queryUrl(appUrl(cluster.replicas[0]), 'SET GLOBAL read_only = 0'), {
      code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR',
    });
    const [{ readOnly }] = await cluster.replicas[0].query('SELECT @@GLOBAL.read_only AS readOnly');
    assert.equal(readOnly, 1);
  });

  it('rejects app-user writes on the read_only replica', async () => {
    await assert.rejects(queryUrl(db.replicaUrl, 'INSERT INTO notes VALUES (3, ?)', ['must not land']), {
      code: 'ER_OPTION_PREVENTS_STATEMENT',
    });
  });

  it('gives every sharedDatabase call its own empty database the app user can use', async () => {
    const other = await sharedDatabase('harness');
    try {
      assert.notEqual(other.database, db.database);
      assert.deepEqual(await queryUrl(other.primaryUrl, 'SHOW TABLES'), []);
    } finally {
      await other.drop();
    }
  });

  it('keeps the app user out of databases it was not granted', async () => {
    await assert.rejects(queryUrl(appUrl(cluster.primary, 'mysql'), 'SELECT 1'), { code: 'ER_DBACCESS_DENIED_ERROR' });
  });
});

describe('a dedicated semi-synchronous cluster', () => {
  let cluster: Cluster;

  before(async () => {
    // A short semi-sync timeout: one test writes while the replica is down.
    cluster = await startMariaDBCluster({ replicas: 1, semiSync: true, semiSyncTimeoutMs: 1000 });
    await cluster.primary.query('CREATE TABLE hyperstatic.saves (id INT PRIMARY KEY)');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('acknowledges commits semi-synchronously (AFTER_SYNC) with the replica attached', async () => {
    const rows: { Variable_name: string; Value: string }[] = await cluster.primary.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')",
    );
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value])), {
      Rpl_semi_sync_master_clients: '1',
      Rpl_semi_sync_master_status: 'ON',
    });
    const [{ waitPoint }] = await cluster.primary.query('SELECT @@GLOBAL.rpl_semi_sync_master_wait_point AS waitPoint');
    assert.equal(waitPoint, 'AFTER_SYNC');
    await queryUrl(appUrl(cluster.primary), 'INSERT INTO saves VALUES (1)');
    const [{ Value: acknowledged }] = await cluster.primary.query(
      "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'",
    );
    assert.ok(Number(acknowledged) >= 1, 'the insert was acknowledged by the replica');
  });

  it('restarts a SIGKILLed primary on the same datadir and port with its committed rows', async () => {
    const { primary } = cluster;
    await queryUrl(appUrl(primary), 'INSERT INTO saves VALUES (2)');
    const port = primary.port;
    const pidBefore = primary.pid;

    await primary.kill('SIGKILL');
    assert.equal(primary.running, false);
    await assert.rejects(queryUrl(appUrl(primary), 'SELECT 1'));

    await primary.start();
    assert.equal(primary.port, port);
    assert.notEqual(primary.pid, pidBefore);
    const rows = await queryUrl(appUrl(primary), 'SELECT id FROM saves ORDER BY id');
    assert.deepEqual(rows, [{ id: 1 }, { id: 2 }]);
  });

  it('lets a SIGKILLed replica resume replication from where it stopped', async () => {
    const [replica] = cluster.replicas;
    await replica.kill('SIGKILL');
    await queryUrl(appUrl(cluster.primary), 'INSERT INTO saves VALUES (3)');
    await replica.start();
    await waitForReplica(cluster.primary, replica, 20_000);
    assert.deepEqual(await queryUrl(appUrl(replica), 'SELECT id FROM saves ORDER BY id'), [
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
  });

  it('takes the app user over TCP as an ordinary account without global privileges', async () => {
    const conn = await mysql.createConnection(appUrl(cluster.primary));
    try {
      const [grants] = (await conn.query('SHOW GRANTS')) as unknown as [Record<string, string>[]];
      const text = grants.map((g) => Object.values(g)[0]).join('\n');
      assert.match(text, /GRANT USAGE ON \*\.\*/);
      assert.doesNotMatch(text, /ON \*\.\* .*(ALL|SUPER|READ_ONLY ADMIN)/);
    } finally {
      await conn.end();
    }
  });
});

describe('Redis', () => {
  it('answers PING on the shared server', async () => {
    assert.equal(await pingRedis(await sharedRedisUrl()), 'PONG');
  });

  it('comes back empty on the same port after a SIGKILL and restart', async () => {
    const redis = await startRedis();
    try {
      const client = new Redis(redis.url);
      await client.set('k', 'v');
      client.disconnect();
      const port = redis.port;

      await redis.kill();
      await assert.rejects(pingRedis(redis.url));

      await redis.restart();
      assert.equal(redis.port, port);
      const after = new Redis(redis.url);
      try {
        assert.equal(await after.ping(), 'PONG');
        assert.equal(await after.get('k'), null);
      } finally {
        after.disconnect();
      }
    } finally {
      await redis.stop();
    }
  });
});
