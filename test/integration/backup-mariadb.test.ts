// The production backup procedure of docs/operations.md ("Backups"), as an
// operator runs it: `mariadb-dump --single-transaction --gtid
// --master-data=2` of a rendered site on one MariaDB server, loaded into a
// fresh server, serves the same site: the manifest the origin would send
// (GET /manifest, app/feed/manifest.ts) is the same byte for byte, signature
// included, and the dump names the GTID position it was taken at (what
// `hyperstatic db setup-replica --gtid` needs to make the restored server a
// replica).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { migrateLatest } from '../../app/db/migrate';
import { manifestLines } from '../../app/feed/manifest';
import { createDatabase as createKnex, type Database } from '../../common/db/database';
import { seedFixtures } from '../../fixtures/seed';
import { rebuild } from '../../producer/rebuild';
import { createRenderer } from '../../producer/renderer';
import { APP_USER, appUrl, Cluster, createDatabase, startMariaDBCluster } from '../harness/mariadb';

const run = promisify(execFile);

async function manifestOf(db: Database, key: ReturnType<typeof generateKeyPairSync>['privateKey']): Promise<string> {
  let text = '';
  for await (const line of manifestLines(db, key)) text += line;
  return text;
}

describe('production backup: mariadb-dump of a rendered site restored into a fresh server', () => {
  let source: Cluster;
  let fresh: Cluster;
  let database: string;
  let origin: Database;
  let restored: Database | undefined;

  before(async () => {
    [source, fresh] = await Promise.all([startMariaDBCluster({ replicas: 0 }), startMariaDBCluster({ replicas: 0 })]);
    database = (await createDatabase(source, 'backup')).database;
    origin = createKnex(appUrl(source.primary, database));
    await migrateLatest(origin);
    await seedFixtures(origin);
    await rebuild({
      db: origin,
      renderer: createRenderer({ name: 'Backup test', publicUrl: 'http://localhost:8080' }),
    });
  });

  after(async () => {
    await origin?.destroy();
    await restored?.destroy();
    await Promise.all([source?.stop(), fresh?.stop()]);
  });

  it('serves the same signed manifest, and the dump names its GTID position', async () => {
    const { stdout: dump } = await run(
      'mariadb-dump',
      [
        ...['-h', '127.0.0.1', '-P', String(source.primary.port), '-u', 'root'],
        ...['--single-transaction', '--gtid', '--master-data=2', '--hex-blob', '--databases', database],
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const [{ pos }] = (await source.primary.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos')) as { pos: string }[];
    assert.match(pos, /^\d+-\d+-\d+/);
    assert.ok(dump.includes(`gtid_slave_pos='${pos}'`), `the dump names GTID ${pos}`);

    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        'mariadb',
        ['-h', '127.0.0.1', '-P', String(fresh.primary.port), '-u', 'root'],
        (error, _out, stderr) => (error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve()),
      );
      child.stdin!.end(dump);
    });
    await fresh.primary.query(`GRANT ALL ON \`${database}\`.* TO '${APP_USER}'@'%', '${APP_USER}'@'127.0.0.1'`);
    restored = createKnex(appUrl(fresh.primary, database));

    const { privateKey } = generateKeyPairSync('ed25519');
    const [before, after] = [await manifestOf(origin, privateKey), await manifestOf(restored, privateKey)];
    assert.ok(before.split('\n').length > 50, 'a rendered site');
    assert.equal(after, before);
    const blobs = async (db: Database) =>
      (await db('blobs').orderBy('sha256').select('sha256', db.raw('SHA2(body, 256) AS hash'))) as {
        sha256: string;
        hash: string;
      }[];
    const bodies = await blobs(restored);
    assert.ok(
      bodies.every((b) => b.sha256 === b.hash),
      'every body survives the dump byte for byte',
    );
    assert.deepEqual(bodies, await blobs(origin));
  });
});
