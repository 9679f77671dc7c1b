// The database gauges app and producer export (common/db/router-metrics.ts)
// report what a real semi-sync MariaDB primary and replica do: lag that
// grows while replication is stopped, semi-sync falling back to async and
// coming back, and a node that stops answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createDatabase, Database } from '../../common/db/database';
import { createDatabaseRouter, DatabaseRouter } from '../../common/db/router';
import { registerRouterMetrics } from '../../common/db/router-metrics';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import { Cluster, createDatabase as createTestDatabase, startMariaDBCluster } from '../harness/mariadb';
import { waitFor } from '../harness/wait';

type Values = Record<string, number | undefined>;

/** metric{node} -> value, as a scrape would show them. */
async function gauges(registry: Registry): Promise<Values> {
  const out: Values = {};
  for (const metric of await registry.getMetricsAsJSON())
    for (const v of metric.values) out[`${metric.name}{${String(v.labels.node)}}`] = v.value;
  return out;
}

describe('database gauges on a semi-sync primary and replica', () => {
  let cluster: Cluster;
  let db: Database;
  let router: DatabaseRouter;
  const registry = new Registry();
  let seq = 0;

  const journal = (createdAt: number) =>
    db('journal').insert({
      seq: ++seq,
      epoch: 0,
      batch: seq,
      path: `/p${seq}`,
      op: 'put',
      size: 0,
      content_type: 'text/html',
      kind: 'article',
      last_modified: createdAt,
      created_at: createdAt,
    });
  const scrape = async () => {
    await router.refresh();
    return gauges(registry);
  };

  before(async () => {
    cluster = await startMariaDBCluster({ replicas: 1, semiSync: true, semiSyncTimeoutMs: 300 });
    const test = await createTestDatabase(cluster, 'routermetrics');
    db = createDatabase(test.primaryUrl);
    await migrateLatest(db);
    router = createDatabaseRouter({
      nodes: [
        { name: 'db1', url: test.primaryUrl },
        { name: 'db2', url: test.replicaUrls[0] },
      ],
      logger: createLogger('silent', 'test'),
      pollMs: 60_000,
    });
    registerRouterMetrics(registry, router);
  });
  after(async () => {
    await router?.close();
    await db?.destroy();
    await cluster?.stop();
  });

  it('reports both nodes up, no lag and semi-sync active while replication runs', async () => {
    await journal(Date.now() - 60_000);
    const values = await waitFor(
      async () => {
        const v = await scrape();
        return v['hyperstatic_db_replica_lag_seconds{db2}'] === 0 ? v : undefined;
      },
      { what: 'the replica to have the journal entry' },
    );
    assert.deepEqual(values, {
      'hyperstatic_db_node_up{db1}': 1,
      'hyperstatic_db_node_up{db2}': 1,
      'hyperstatic_db_replica_lag_seconds{db2}': 0,
      'hyperstatic_db_semi_sync_enabled{db1}': 1,
      'hyperstatic_db_semi_sync_active{db1}': 1,
    });
  });

  it('shows the lag and the fallback to async while the replica is stopped, and their recovery', async () => {
    await cluster.replicas[0].query('STOP SLAVE');
    // Waits out rpl_semi_sync_master_timeout, then commits without an ack.
    await journal(Date.now());
    const stopped = await scrape();
    assert.ok(
      Math.abs(stopped['hyperstatic_db_replica_lag_seconds{db2}']! - 60) < 2,
      `lag about 60 s, got ${stopped['hyperstatic_db_replica_lag_seconds{db2}']}`,
    );
    assert.equal(stopped['hyperstatic_db_semi_sync_enabled{db1}'], 1);
    assert.equal(stopped['hyperstatic_db_semi_sync_active{db1}'], 0, 'fell back to async');

    await cluster.replicas[0].query('START SLAVE');
    await waitFor(
      async () => {
        await journal(Date.now());
        const v = await scrape();
        return v['hyperstatic_db_replica_lag_seconds{db2}'] === 0 && v['hyperstatic_db_semi_sync_active{db1}'] === 1;
      },
      { what: 'the replica to catch up and semi-sync to switch back on', intervalMs: 200 },
    );
  });

  it('reports a node that stops answering as down and drops its lag', async () => {
    await cluster.replicas[0].kill('SIGKILL');
    const values = await scrape();
    assert.equal(values['hyperstatic_db_node_up{db1}'], 1);
    assert.equal(values['hyperstatic_db_node_up{db2}'], 0);
    assert.equal(values['hyperstatic_db_replica_lag_seconds{db2}'], undefined);
  });
});
