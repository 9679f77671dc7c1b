// Bringing a returned old primary back, through the real CLI against a real
// MariaDB primary and two semi-sync replicas with the app, producer and a
// mirror running: a semi-sync primary killed while a save waited for its
// replica's acknowledgement comes back holding that save (crash recovery
// committed it) and rejoins, the save discarded; a save acknowledged in
// async mode that only the old primary holds is named by `db diverged`,
// refused by `db rejoin`, saved again by `db reapply` (once), and then the
// node rejoins.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { probeAll } from '../../common/db/node-status';
import { promote, withAdmin } from '../../app/db/promote';
import { switchSourceSide } from '../../app/db/semi-sync-roles';
import { runCli } from '../support/cli';
import { REPLICATION_PASSWORD, REPLICATION_USER, waitForReplica, type DbNode } from '../harness/mariadb';
import { startFailoverSite, type FailoverSite } from './failover-site';

interface DivergedJson {
  node: string;
  gtids: string[];
  acknowledgement: string;
  items: {
    kind: string;
    id: number | string;
    slug: string | null;
    title: string | null;
    change: string;
    by: string | null;
    at: string;
    acknowledged: boolean;
    onPrimary: boolean;
    reapplied: boolean;
  }[];
}

describe('rejoining a returned old primary', () => {
  let site: FailoverSite;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    // A long semi-sync timeout: an unacknowledged save keeps waiting however slow the machine is, and the
    // rule that judges it unacknowledged (first diverged write less than the timeout before the node stopped)
    // does not depend on how fast the promotion runs.
    // As deployed (deploy/mariadb/60-hyperstatic.cnf): the source side is off in every node's config and
    // switched on at run time on the primary by the commands' code, so a crashed primary restarts with it OFF.
    site = await startFailoverSite({ semiSync: true, semiSyncTimeoutMs: 60_000, sourceSide: 'runtime' });
    env = {
      ...process.env,
      LOG_LEVEL: 'silent',
      DATABASE_NODES: site.config.databaseNodes.map((n) => `${n.name}=${n.url}`).join(','),
      DATABASE_ADMIN_USER: 'root',
      DATABASE_ADMIN_PASSWORD: '',
      DATABASE_REPLICATION_USER: REPLICATION_USER,
      DATABASE_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
    };
  });
  after(async () => {
    await site?.close();
  });

  const cli = (...args: string[]) => runCli(args, { env });

  async function diverged(node: string): Promise<DivergedJson> {
    const run = await cli('db', 'diverged', node, '--json');
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as DivergedJson;
  }

  async function titles(node: DbNode, title: string): Promise<number> {
    const [row] = await node.query('SELECT COUNT(*) AS n FROM hyperstatic.articles WHERE title = ?', [title]);
    return Number(row.n);
  }

  async function assertReplicatesFrom(name: string, primary: string): Promise<void> {
    const s = (await probeAll(site.access.nodes, site.access.admin)).find((x) => x.name === name)!;
    assert.equal(s.readOnly, true, `${name} is fenced`);
    assert.equal(s.replica?.sourcePort, site.node(primary).port, `${name} replicates from ${primary}`);
    assert.ok(s.replica?.ioRunning && s.replica.sqlRunning, `${name}'s replication runs`);
  }

  /** Waits until `node` has binlogged `count` more transactions: the saves are written and wait for their acknowledgement. */
  async function binlogged(node: DbNode, was: string, count: number): Promise<void> {
    const seq = (pos: string) => Number(String(pos).split('-').pop());
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [{ pos }] = await node.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
      if (seq(pos) >= seq(was) + count) return;
      assert.ok(Date.now() < deadline, `the saves never reached the binlog (${was} -> ${pos})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test('a semi-sync primary killed with unacknowledged saves rejoins: --dry-run lists them, rejoin discards them, a retried one is kept once', async () => {
    const before = await site.publish('Before the crash');
    await site.waitOnMirror(before.url!, 'Before the crash');
    const old = site.node('primary');
    // No replica receives anything more: the next commits wait for an acknowledgement that never comes.
    for (const r of ['replica1', 'replica2']) await site.node(r).query('STOP SLAVE IO_THREAD');
    const [{ pos }] = await old.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    const answers = [
      site.saveOnce('Unacknowledged tail', { key: 'tail-1', timeoutMs: 30_000 }),
      site.saveOnce('Retried elsewhere', { key: 'tail-2', timeoutMs: 30_000 }),
    ];
    await binlogged(old, String(pos), 2);
    await old.kill('SIGKILL');
    for (const a of await Promise.all(answers))
      assert.notEqual(a.kind, 'acknowledged', 'no client was told it succeeded');

    await promote(site.access, 'replica1');
    // The second client retries with its Idempotency-Key and is answered by the new primary.
    for (
      let attempt = 0;
      (await site.saveOnce('Retried elsewhere', { key: 'tail-2' })).kind !== 'acknowledged';
      attempt++
    ) {
      assert.ok(attempt < 100, 'the retry is answered by the new primary');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await old.start(); // crash recovery commits both saves: they are in the binlog
    assert.equal(await titles(old, 'Unacknowledged tail'), 1, 'the returned node holds the unacknowledged save');
    const [source] = await old.query("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_master_enabled'");
    assert.equal(source.Value, 'OFF', 'it restarted with the source side off, from its config');

    const report = await diverged('primary');
    assert.equal(report.gtids.length, 2);
    const byTitle = new Map(report.items.map((i) => [i.title, i]));
    assert.equal(report.items.length, 2, JSON.stringify(report.items));
    const tail = byTitle.get('Unacknowledged tail')!;
    assert.deepEqual(
      [tail.kind, tail.change, tail.by, tail.acknowledged, tail.onPrimary],
      ['article', 'create', 'editor1', false, false],
      report.acknowledgement,
    );
    assert.equal(byTitle.get('Retried elsewhere')?.onPrimary, true, 'the retried save is recognised by its key');

    const dry = await cli('db', 'rejoin', 'primary', '--dry-run');
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /article \d+ "Unacknowledged tail".*never acknowledged/);
    assert.match(dry.stdout, /article \d+ "Retried elsewhere".*already on the primary/);
    assert.match(dry.stdout, /Safe to rejoin primary/);
    assert.equal(await titles(old, 'Unacknowledged tail'), 1, 'a dry run changes nothing');

    const run = await cli('db', 'rejoin', 'primary');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /primary rejoined as a replica of replica1 \(discarded /);
    await assertReplicatesFrom('primary', 'replica1');
    await waitForReplica(site.node('replica1'), old);
    assert.equal(await titles(old, 'Unacknowledged tail'), 0, 'the unacknowledged save is gone');
    assert.equal(await titles(old, 'Retried elsewhere'), 1, 'the retried save is there once, from the primary');
    assert.equal(await titles(old, 'Before the crash'), 1, 'what was acknowledged is kept');
    assert.equal((await diverged('primary')).gtids.length, 0);
    const saved = await site.publish('After the rejoin');
    await waitForReplica(site.node('replica1'), old);
    assert.equal(await titles(old, 'After the rejoin'), 1, 'the rejoined node receives new saves');
    await site.waitOnMirror(saved.url!, 'After the rejoin');
  });

  test('a save acknowledged in async mode that only the old primary holds is named, refused on rejoin, re-applied once, then the node rejoins', async () => {
    const old = site.node('replica1');
    // Async: the primary answers without waiting, and no replica receives the save. Switched off the way
    // promote does when no replica follows, so its record says off; the live variable says OFF anyway after
    // the restart, which is why the unit tests (divergence.test.ts) check that a record "off" wins over ON.
    await withAdmin(site.access, 'replica1', (conn) => switchSourceSide(conn, 'replica1', false));
    for (const r of ['primary', 'replica2']) await site.node(r).query('STOP SLAVE');
    const lost = await site.publish('Acknowledged but lost');
    assert.equal(lost.kind, 'acknowledged');
    await site.waitOnMirror(lost.url!, 'Acknowledged but lost');
    await old.kill('SIGKILL');
    await promote(site.access, 'primary');
    await old.start();

    const report = await diverged('replica1');
    const article = report.items.find((i) => i.kind === 'article');
    assert.ok(article, JSON.stringify(report));
    assert.deepEqual(
      [article.title, article.change, article.by, article.acknowledged, article.reapplied],
      ['Acknowledged but lost', 'create', 'editor1', true, false],
    );
    assert.ok(Math.abs(Date.parse(article.at) - lost.at) < 5000, `at ${article.at} is when it was saved`);

    const refused = await cli('db', 'rejoin', 'replica1');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /"Acknowledged but lost".*ACKNOWLEDGED/);
    assert.match(
      refused.stderr,
      /\(async; its record: source side switched off at /,
      'the refusal says why it counts as answered',
    );
    assert.match(refused.stderr, /db reapply replica1 --yes/);
    const [slave] = await old.query('SHOW SLAVE STATUS');
    assert.equal(slave?.Slave_IO_Running ?? 'No', 'No', 'a refused rejoin changes nothing');
    const dry = await cli('db', 'rejoin', 'replica1', '--dry-run');
    assert.equal(dry.code, 1);
    assert.match(dry.stdout, /Acknowledged but lost/);

    const primary = site.node('primary');
    const applied = await cli('db', 'reapply', 'replica1', '--yes', '--json');
    assert.equal(applied.code, 0, applied.stderr);
    const result = JSON.parse(applied.stdout) as { applied: { title: string; url: string }[] };
    assert.deepEqual(
      result.applied.map((a) => a.title),
      ['Acknowledged but lost'],
    );
    assert.equal(await titles(primary, 'Acknowledged but lost'), 1);
    const [revision] = await primary.query(
      "SELECT r.action, r.reason, u.name FROM hyperstatic.revisions r JOIN hyperstatic.articles a ON a.id = r.item_id AND r.item_type = 'article' LEFT JOIN hyperstatic.users u ON u.id = r.user_id WHERE a.title = ?",
      ['Acknowledged but lost'],
    );
    assert.equal(revision.action, 'create');
    assert.equal(revision.name, 'editor1');
    assert.match(revision.reason, /re-applied from replica1/);
    // Through the publish path: the producer renders it from the new primary (a journal entry at the new epoch) and the mirror serves it.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [entry] = await primary.query(
        'SELECT epoch FROM hyperstatic.journal WHERE path = ? ORDER BY seq DESC LIMIT 1',
        [result.applied[0].url],
      );
      if (Number(entry?.epoch) === 3) break;
      assert.ok(
        Date.now() < deadline,
        `the re-applied article was never rendered at epoch 3 (${JSON.stringify(entry)})`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await site.waitOnMirror(result.applied[0].url, 'Acknowledged but lost');

    const again = await cli('db', 'reapply', 'replica1', '--yes', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as { applied: unknown[] }).applied, []);
    assert.equal(await titles(primary, 'Acknowledged but lost'), 1, 'a second run saves nothing twice');
    assert.equal((await diverged('replica1')).items.find((i) => i.kind === 'article')?.reapplied, true);

    const run = await cli('db', 'rejoin', 'replica1');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    await site.node('replica2').query('START SLAVE');
    await assertReplicatesFrom('replica1', 'primary');
    await waitForReplica(primary, old);
    assert.equal(
      await titles(old, 'Acknowledged but lost'),
      1,
      'the rejoined node holds the save once, from the primary',
    );
  });

  test('an unknown node is a clear CLI error for diverged, reapply and rejoin', async () => {
    for (const args of [
      ['diverged', 'nosuch'],
      ['reapply', 'nosuch', '--yes'],
      ['rejoin', 'nosuch', '--dry-run'],
    ]) {
      const run = await cli('db', ...args);
      assert.equal(run.code, 1, args.join(' '));
      assert.match(run.stderr, /unknown node "nosuch"; the configured nodes are primary, replica1, replica2/);
    }
  });
});
