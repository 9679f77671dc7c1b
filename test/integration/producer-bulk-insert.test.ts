// The producer's multi-row INSERTs (prepared statements on MariaDB, knex on
// SQLite) store every value byte for byte, split large batches without
// losing or repeating a row, and honour what a duplicate key should do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDatabase, Database } from '../../common/database';
import { migrateLatest } from '../../app/db/migrate';
import { insertRows } from '../../producer/bulk-insert';
import { sharedDatabase, SharedDatabase } from '../harness/shared';

const AWKWARD = ["it's", 'back\\slash', 'nul\u0000byte', 'quote " and `tick`', 'émoji 🗞️ 中文', "'); drop table pages; --", ''];

function pageRow(i: number, extra: Partial<Record<string, unknown>> = {}) {
  return { path: `/p/${i}`, op: 'put', sha256: null, size: i, content_type: `text/html; v=${AWKWARD[i % AWKWARD.length]}`, kind: 'article', last_modified: 1_790_000_000_000 + i, seq: i, ...extra };
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

    it('stores strings, bytes, nulls and large integers exactly, across statements of every size', async () => {
      const rows = Array.from({ length: 1_000 }, (_, i) => pageRow(i, { sha256: i % 3 === 0 ? null : `h${i}` }));
      await db.transaction((trx) => insertRows(trx, 'pages', rows));
      const stored = await db('pages').whereBetween('seq', [0, 999]).orderBy('seq').select();
      assert.equal(stored.length, 1_000);
      stored.forEach((r, i) => {
        assert.deepEqual({ ...r, size: Number(r.size), last_modified: Number(r.last_modified), seq: Number(r.seq) }, rows[i]);
      });

      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      // 12 bodies of 300 KB are more than one statement may carry.
      const blobs = Array.from({ length: 12 }, (_, i) => ({ sha256: `b${i}`, size: 300_000, body: Buffer.concat([every, Buffer.alloc(300_000 - 256, i)]), created_at: 1_790_000_000_000 }));
      await db.transaction((trx) => insertRows(trx, 'blobs', blobs));
      const bodies = await db('blobs').whereIn('sha256', blobs.map((b) => b.sha256)).orderBy('sha256').select('sha256', 'body');
      assert.equal(bodies.length, 12);
      for (const b of bodies) assert.ok(Buffer.from(b.body).equals(blobs.find((x) => x.sha256 === b.sha256)!.body), `${b.sha256} differs`);
    });

    it('keeps the stored row on ignore and overwrites only the named columns on update', async () => {
      await db.transaction((trx) => insertRows(trx, 'pages', [pageRow(5000, { op: 'put', kind: 'index' })]));
      await db.transaction((trx) => insertRows(trx, 'pages', [pageRow(5000, { op: 'gone', kind: 'feed' }), pageRow(5001)], { key: ['path'], ignore: true }));
      assert.deepEqual(await db('pages').whereIn('path', ['/p/5000', '/p/5001']).orderBy('path').select('path', 'op', 'kind'), [
        { path: '/p/5000', op: 'put', kind: 'index' },
        { path: '/p/5001', op: 'put', kind: 'article' },
      ]);
      await db.transaction((trx) => insertRows(trx, 'pages', [pageRow(5000, { op: 'gone', kind: 'feed', seq: 9 })], { key: ['path'], update: ['op', 'seq'] }));
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
