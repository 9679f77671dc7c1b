// Promotion against a real MariaDB primary and two semi-sync replicas, with
// the app, producer and a mirror running through it: a planned switchover
// and an emergency one (kill -9), publishing again through the API each
// time and seeing the page reach the mirror; unsafe promotions and rejoins
// are refused and leave the topology as it was.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { probeAll } from '../../common/db/node-status';
import { promote, PromotionRefusedError, rejoin } from '../../app/db/promote';
import { setupReplica } from '../../app/db/setup-replica';
import { currentPrimary } from '../../app/db/promotion-plan';
import { rejoinNode } from '../../app/db/rejoin';
import { queryUrl, waitForReplica } from '../harness/mariadb';
import { startFailoverSite, type FailoverSite } from './failover-site';

describe('promoting a replica while publishing', () => {
  let site: FailoverSite;

  before(async () => {
    // A short semi-sync timeout: the setup-replica case briefly leaves the primary without an acknowledging replica.
    site = await startFailoverSite({ semiSync: true, semiSyncTimeoutMs: 2000 });
  });
  after(async () => {
    await site?.close();
  });

  async function topology() {
    const statuses = await probeAll(site.access.nodes, site.access.admin);
    return { ...currentPrimary(site.access.nodes, statuses), statuses };
  }

  async function assertRefused(candidate: string, pattern: RegExp): Promise<void> {
    const before = await topology();
    await assert.rejects(promote(site.access, candidate, { catchUpTimeoutMs: 1000 }), (error: unknown) => {
      assert.ok(error instanceof PromotionRefusedError, `expected a refusal, got ${String(error)}`);
      assert.match(error.message, pattern);
      return true;
    });
    const afterwards = await topology();
    assert.equal(afterwards.name, before.name, 'the primary did not change');
    assert.equal(afterwards.epoch, before.epoch, 'the epoch did not change');
    const primary = afterwards.statuses.find((s) => s.name === afterwards.name);
    if (primary?.reachable) assert.equal(primary.readOnly, false, 'the primary is still writable');
  }

  test('an article published before any failover reaches the mirror', async () => {
    const saved = await site.publish('Before the storm');
    await site.waitOnMirror(saved.url!, 'Before the storm');
  });

  test('planned switchover: promote replica1 while the primary is alive, then publish again and reach the mirror', async () => {
    const started = Date.now();
    const result = await promote(site.access, 'replica1');
    const saved = await site.publish('After a planned switchover');
    const toPublish = Date.now() - started;
    console.log(
      `planned switchover: promote ${result.durationMs} ms, first acknowledged save ${toPublish} ms after promote started`,
    );
    assert.ok(result.executed);
    assert.ok(toPublish < 5000, `publishing resumed after ${toPublish} ms`);

    const { name, epoch, statuses } = await topology();
    assert.equal(name, 'replica1');
    assert.equal(epoch, 2, 'the epoch was raised');
    const old = statuses.find((s) => s.name === 'primary')!;
    assert.equal(old.readOnly, true, 'the old primary is fenced');
    assert.equal(old.replica?.sourcePort, site.node('replica1').port, 'the old primary now replicates from replica1');
    assert.equal(
      statuses.find((s) => s.name === 'replica2')!.replica?.sourcePort,
      site.node('replica1').port,
      'replica2 was repointed',
    );
    const [state] = await site.node('replica1').query('SELECT epoch FROM hyperstatic.cluster_state WHERE id = 1');
    assert.equal(Number(state.epoch), 2);

    await site.waitOnMirror(saved.url!, 'After a planned switchover');
    const [entry] = await site
      .node('replica1')
      .query('SELECT epoch FROM hyperstatic.journal WHERE path = ? ORDER BY seq DESC LIMIT 1', [saved.url]);
    assert.equal(Number(entry.epoch), 2, 'journal entries written after the promotion carry the new epoch');
  });

  test('refuses to promote an unknown node, the current primary, or a replica that is behind, and changes nothing', async () => {
    await assertRefused('nosuchnode', /unknown node "nosuchnode"/);
    await assertRefused('replica1', /already the primary/);
    await site.node('replica2').query('STOP SLAVE');
    try {
      await site.publish('While replica2 is stopped');
      await assertRefused('replica2', /replica2 is behind/);
    } finally {
      await site.node('replica2').query('START SLAVE');
      await waitForReplica(site.node('replica1'), site.node('replica2'));
    }
  });

  test('emergency: kill -9 the primary; writes answer 503 until replica2 is promoted, then publishing resumes and reaches the mirror', async () => {
    await site.node('replica1').kill('SIGKILL');
    const res = await fetch(`${site.app.url}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${site.token}` },
      body: JSON.stringify({ title: 'Into the void', body: '<p>x</p>', status: 'published' }),
    });
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('retry-after'), 'a 503 says when to retry');
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /nothing was saved/);

    const started = Date.now();
    const result = await promote(site.access, 'replica2');
    const saved = await site.publish('After an emergency promotion');
    const toPublish = Date.now() - started;
    console.log(
      `emergency promotion: promote ${result.durationMs} ms, first acknowledged save ${toPublish} ms after promote started`,
    );
    assert.ok(
      result.plan.warnings.some((w) => /unreachable/.test(w)),
      'the plan warns that the old primary could not be fenced',
    );
    assert.ok(toPublish < 8000, `publishing resumed after ${toPublish} ms`);
    const { name, epoch } = await topology();
    assert.equal(name, 'replica2');
    assert.equal(epoch, 3);
    await site.waitOnMirror(saved.url!, 'After an emergency promotion');
    // The dead node is now an ordinary (unreachable) replica: it cannot be checked, so it cannot be promoted.
    await assertRefused('replica1', /replica1 is unreachable/);
  });

  test('the killed primary comes back and rejoins as a replica of the new one', async () => {
    const returning = site.node('replica1');
    await returning.start();
    // Killed while the relay or producer was committing, it may hold a transaction no replica received:
    // rejoin discards it when no client was told it succeeded (the case of docs/operations.md, "Bring the old primary back").
    await rejoinNode(site.access, 'replica1', { timeoutMs: 15_000 });
    const statuses = await probeAll(site.access.nodes, site.access.admin);
    const r1 = statuses.find((s) => s.name === 'replica1')!;
    assert.equal(r1.readOnly, true);
    assert.equal(r1.replica?.sourcePort, site.node('replica2').port);
    assert.ok(r1.replica?.ioRunning && r1.replica.sqlRunning, 'replication runs');
    const saved = await site.publish('After the rejoin');
    // The rejoined node receives what the new primary writes.
    const rows = await queryUrl(returning.rootUrl(), 'SELECT MASTER_GTID_WAIT(?, 10) AS r', [
      String((await site.node('replica2').query('SELECT @@gtid_binlog_pos AS p'))[0].p),
    ]);
    assert.equal(Number(rows[0].r), 0);
    const [article] = await returning.query('SELECT title FROM hyperstatic.articles WHERE id = ?', [saved.id]);
    assert.equal(article?.title, 'After the rejoin');
  });

  test('refuses to rejoin a node whose GTID history diverged, and changes nothing', async () => {
    const stray = site.node('primary');
    await stray.query('STOP SLAVE');
    // A transaction only this node has: what a deposed primary writes after it was cut off.
    await stray.query('CREATE DATABASE hs_errant_write');
    const before = await topology();
    await assert.rejects(rejoin(site.access, 'primary'), (error: unknown) => {
      assert.ok(error instanceof PromotionRefusedError);
      assert.match(error.message, /diverged/);
      return true;
    });
    const afterwards = await topology();
    assert.equal(afterwards.name, before.name);
    assert.equal(afterwards.epoch, before.epoch);
    const [slave] = await stray.query('SHOW SLAVE STATUS');
    assert.equal(slave?.Slave_IO_Running, 'No', 'the diverged node was not started as a replica');
  });

  test('setup-replica points a node with no replication at the primary, with semi-sync', async () => {
    const node = site.node('replica1');
    await node.query('STOP SLAVE');
    await node.query('RESET SLAVE ALL');
    await node.query('SET GLOBAL rpl_semi_sync_slave_enabled = OFF');
    const statuses = await setupReplica(site.access, { node: 'replica1', semiSync: true });
    const r1 = statuses.find((s) => s.name === 'replica1')!;
    assert.equal(r1.replica?.sourcePort, site.node('replica2').port, 'it replicates from the current primary');
    assert.ok(r1.replica?.ioRunning && r1.replica.sqlRunning);
    assert.equal(r1.readOnly, true);
    assert.equal(r1.semiSync?.replicaEnabled, true);
    const primary = statuses.find((s) => s.name === 'replica2')!;
    assert.ok(
      primary.semiSync?.sourceEnabled && primary.semiSync.clients >= 1,
      'the primary waits for a semi-sync acknowledgement',
    );
    const saved = await site.publish('After setting up a replica');
    await waitForReplica(site.node('replica2'), node);
    const [article] = await node.query('SELECT title FROM hyperstatic.articles WHERE id = ?', [saved.id]);
    assert.equal(article?.title, 'After setting up a replica');
  });
});
