// The producer's multi-row INSERTs (prepared statements on MariaDB, knex on
// SQLite) store every value byte for byte, split large batches without
// losing or repeating a row, and honour what a duplicate key should do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { createDatabase, Database } from '../../common/db/database';
import { migrateLatest } from '../../app/db/migrate';
import { insertRows } from '../../producer/bulk-insert';
import { sharedDatabase, SharedDatabase } from '../harness/shared';

const AWKWARD = [
  "it's",
  'back\\slash',
  'nul\u0000byte',
  'quote " and `tick`',
  'émoji 🗞️ 中文',
  "'); drop table pages; --",
  '',
];

function pageRow(i: number, extra: Partial<Record<string, unknown>> = {}) {
  return {
    path: `/p/${i}`,
    op: 'put',
    sha256: null,
    size: i,
    content_type: `text/html; v=${AWKWARD[i % AWKWARD.length]}`,
    kind: 'article',
    last_modified: 1_790_000_000_000 + i,
    seq: i,
    ...extra,
  };
}

for (const dialect of ['mariadb', 'sqlite'] as const) {
  describe(`bulk inserts on ${dialect}`, () => {
    let shared: SharedDatabase | undefined;
    let db: Database;
    before(async () => {
      if (dialect === 'mariadb') shared = await sharedDatabase('bulk-insert');
      db = createDatabase(shared ? shared.primaryUrl : 'sqlite::memory:');
      await migrateLatest(db);
    });
    after(async () => {
      await db.destroy();
      await shared?.drop();
    });

    /** Inserts in one transaction; on MariaDB, returns how many prepared statements it executed. */
    async function insertCounting(table: string, rows: Record<string, unknown>[]): Promise<number | undefined> {
      return db.transaction(async (trx) => {
        const executed = async () =>
          dialect === 'mariadb'
            ? Number((await trx.raw("SHOW SESSION STATUS LIKE 'Com_stmt_execute'"))[0][0].Value)
            : 0;
        const before = await executed();
        await insertRows(trx, table, rows);
        return dialect === 'mariadb' ? (await executed()) - before : undefined;
      });
    }

    it('stores strings, bytes, nulls and large integers exactly, in statements of every power-of-two size', async () => {
      // 511 = 256 + 128 + … + 1: one statement of each size the rows are split into.
      const rows = Array.from({ length: 511 }, (_, i) => pageRow(i, { sha256: i % 3 === 0 ? null : `h${i}` }));
      const statements = await insertCounting('pages', rows);
      if (dialect === 'mariadb') assert.equal(statements, 9);
      const stored = await db('pages').whereBetween('seq', [0, 510]).orderBy('seq').select(Object.keys(rows[0]));
      assert.equal(stored.length, 511);
      stored.forEach((r, i) => {
        assert.deepEqual(
          { ...r, size: Number(r.size), last_modified: Number(r.last_modified), seq: Number(r.seq) },
          rows[i],
        );
      });
    });

    it('keeps each statement under 1 MB of values, and every byte of every body', async () => {
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      // Three 300 KB bodies fit in 1 MB, and two is the power of two below: six statements for twelve.
      const blobs = Array.from({ length: 12 }, (_, i) => ({
        sha256: `b${i}`,
        size: 300_000,
        body: Buffer.concat([every, Buffer.alloc(300_000 - 256, i)]),
        created_at: 1_790_000_000_000,
      }));
      const statements = await insertCounting('blobs', blobs);
      if (dialect === 'mariadb') assert.equal(statements, 6);
      const bodies = await db('blobs')
        .whereIn(
          'sha256',
          blobs.map((b) => b.sha256),
        )
        .orderBy('sha256')
        .select('sha256', 'body');
      assert.equal(bodies.length, 12);
      for (const b of bodies)
        assert.ok(Buffer.from(b.body).equals(blobs.find((x) => x.sha256 === b.sha256)!.body), `${b.sha256} differs`);
    });

    it('refuses rows whose columns differ, and a plain connection', async () => {
      await assert.rejects(
        db.transaction((trx) => insertRows(trx, 'pages', [pageRow(7000), { ...pageRow(7001), extra: 1 }])),
        /row 1 has columns/,
      );
      await assert.rejects(
        insertRows(db as unknown as Knex.Transaction, 'pages', [pageRow(7002)]),
        /needs a transaction/,
      );
      assert.equal((await db('pages').whereIn('path', ['/p/7000', '/p/7001', '/p/7002']).select('path')).length, 0);
    });

    it('keeps the stored row on ignore and overwrites only the named columns on update', async () => {
      await db.transaction((trx) => insertRows(trx, 'pages', [pageRow(5000, { op: 'put', kind: 'index' })]));
      await db.transaction((trx) =>
        insertRows(trx, 'pages', [pageRow(5000, { op: 'gone', kind: 'feed' }), pageRow(5001)], {
          key: ['path'],
          ignore: true,
        }),
      );
      assert.deepEqual(
        await db('pages').whereIn('path', ['/p/5000', '/p/5001']).orderBy('path').select('path', 'op', 'kind'),
        [
          { path: '/p/5000', op: 'put', kind: 'index' },
          { path: '/p/5001', op: 'put', kind: 'article' },
        ],
      );
      await db.transaction((trx) =>
        insertRows(trx, 'pages', [pageRow(5000, { op: 'gone', kind: 'feed', seq: 9 })], {
          key: ['path'],
          update: ['op', 'seq'],
        }),
      );
      const row = await db('pages').where({ path: '/p/5000' }).first('op', 'kind', 'seq');
      assert.deepEqual({ ...row, seq: Number(row.seq) }, { op: 'gone', kind: 'index', seq: 9 });
    });

    it('writes nothing when one row of the batch is refused', async () => {
      const rows = Array.from({ length: 300 }, (_, i) => pageRow(i, { path: `/refused/${i}` }));
      rows[299] = pageRow(0, { path: '/refused/0' }); // the same path twice, no duplicate rule
      await assert.rejects(db.transaction((trx) => insertRows(trx, 'pages', rows)));
      assert.equal((await db('pages').where('path', 'like', '/refused/%').select('path')).length, 0);
    });
  });
}
