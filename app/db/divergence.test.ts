import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGtidPosition } from '../../common/db/gtid';
import { binlogBytes, parseVerboseBinlog } from './binlog-rows';
import {
  acknowledgement,
  discardBlockers,
  divergedItems,
  isDivergedGtid,
  sourceSideRan,
  type ItemContext,
} from './divergence';
import { inversion } from './row-inversion';

// Trimmed from real `mariadb-binlog --base64-output=DECODE-ROWS -vv` output of MariaDB 10.11.
const BINLOG = [
  '# at 1914',
  '#261207  6:15:30 server id 1  end_log_pos 1956 CRC32 0x662e1e78 \tGTID 0-1-9 trans',
  'START TRANSACTION',
  '#261207  6:15:30 server id 1  end_log_pos 2123 CRC32 0xe1757a14 \tTable_map: `hs`.`articles` mapped to number 18',
  '#261207  6:15:30 server id 1  end_log_pos 2187 CRC32 0xb35a99b3 \tWrite_rows: table id 18 flags: STMT_END_F',
  '### INSERT INTO `hs`.`articles`',
  '### SET',
  '###   @1=7 /* INT meta=0 nullable=0 is_null=0 */',
  "###   @2='lost-save' /* VARSTRING(400) meta=400 nullable=0 is_null=0 */",
  "###   @3='It's lost\\x0a' /* VARSTRING(400) meta=400 nullable=0 is_null=0 */",
  '###   @4=1 /* INT meta=0 nullable=1 is_null=0 */',
  '###   @5=1796624130000 /* LONGINT meta=0 nullable=0 is_null=0 */',
  '### INSERT INTO `hs`.`revisions`',
  '### SET',
  '###   @1=31 /* LONGINT meta=0 nullable=0 is_null=0 */',
  "###   @2='article' /* VARSTRING(64) meta=64 nullable=0 is_null=0 */",
  '###   @3=7 /* INT meta=0 nullable=0 is_null=0 */',
  '###   @4=1 /* INT meta=0 nullable=1 is_null=0 */',
  "###   @5='create' /* VARSTRING(128) meta=128 nullable=0 is_null=0 */",
  '###   @6=1796624130500 /* LONGINT meta=0 nullable=0 is_null=0 */',
  'COMMIT/*!*/;',
  '#261207  6:15:31 server id 1  end_log_pos 2260 CRC32 0x75796153 \tGTID 0-1-10 trans',
  '### UPDATE `hs`.`pages`',
  '### WHERE',
  "###   @1='/' /* VARSTRING(2048) meta=2048 nullable=0 is_null=0 */",
  "###   @2='aa' /* STRING(256) meta=65280 nullable=0 is_null=0 */",
  '### SET',
  "###   @1='/' /* VARSTRING(2048) meta=2048 nullable=0 is_null=0 */",
  "###   @2='bb' /* STRING(256) meta=65280 nullable=0 is_null=0 */",
  '### DELETE FROM `hs`.`settings`',
  '### WHERE',
  "###   @1='open_publishing' /* VARSTRING(256) meta=256 nullable=0 is_null=0 */",
  "###   @2='moderated' /* VARSTRING(4000) meta=4000 nullable=0 is_null=0 */",
  'COMMIT/*!*/;',
  '#261207  6:15:32 server id 1  end_log_pos 2544 CRC32 0xf5a89630 \tGTID 0-1-11 ddl',
  'CREATE DATABASE errant',
].join('\n');

const COLUMNS = new Map([
  ['articles', ['id', 'slug', 'title', 'author_id', 'updated_at']],
  ['revisions', ['id', 'item_type', 'item_id', 'user_id', 'action', 'created_at']],
  ['pages', ['path', 'sha256']],
  ['settings', ['name', 'value']],
]);

const context = (over: Partial<ItemContext> = {}): ItemContext => ({
  database: 'hs',
  columns: COLUMNS,
  users: new Map([[1, 'editor1']]),
  onPrimary: () => false,
  reapplied: () => false,
  acknowledged: true,
  ...over,
});

describe('reading diverged transactions', () => {
  test('parses GTIDs, times, schema changes and named row images from mariadb-binlog -vv', () => {
    const txs = parseVerboseBinlog(BINLOG);
    assert.deepEqual(
      txs.map((t) => [t.gtid, t.ddl, t.rows.length]),
      [
        ['0-1-9', false, 2],
        ['0-1-10', false, 2],
        ['0-1-11', true, 0],
      ],
    );
    assert.equal(txs[0].at, Date.UTC(2026, 11, 7, 6, 15, 30));
    assert.equal(binlogBytes(txs[0].rows[0].after!.get(3)!).toString(), "It's lost\n");
    assert.equal(txs[1].rows[0].before!.get(2), "'aa'");
    assert.equal(binlogBytes('-1 (18446744073709551615)'), '18446744073709551615');
  });

  test('names the article a transaction created, with who and when from its revision', () => {
    const items = divergedItems(parseVerboseBinlog(BINLOG), context());
    const article = items.find((i) => i.kind === 'article')!;
    assert.deepEqual(
      { ...article, at: article.at },
      {
        kind: 'article',
        id: 7,
        slug: 'lost-save',
        title: "It's lost\n",
        change: 'create',
        by: 'editor1',
        at: new Date(1796624130500).toISOString(),
        acknowledged: true,
        onPrimary: false,
        reapplied: false,
        reapplicable: true,
        created: true,
        gtids: ['0-1-9'],
      },
    );
    assert.deepEqual(
      items.filter((i) => i.kind !== 'article').map((i) => [i.kind, i.id, i.change]),
      [
        ['setting', 'open_publishing', 'delete'],
        ['other', 'schema change 0-1-11', 'DDL statement'],
      ],
      'rendered pages are derived and not listed',
    );
  });

  test('discarding is blocked by acknowledged changes the primary lacks and by schema changes', () => {
    const txs = parseVerboseBinlog(BINLOG).slice(0, 1);
    assert.deepEqual(discardBlockers(divergedItems(txs, context({ acknowledged: false }))).lost, []);
    assert.equal(discardBlockers(divergedItems(txs, context())).lost.length, 1);
    assert.deepEqual(discardBlockers(divergedItems(txs, context({ onPrimary: () => true }))).lost, []);
    assert.deepEqual(discardBlockers(divergedItems(txs, context({ reapplied: () => true }))).lost, []);
    assert.equal(discardBlockers(divergedItems(parseVerboseBinlog(BINLOG), context())).undoable, false);
  });

  test('only what the node wrote after the promotion, or beyond the primary, diverged', () => {
    const base = parseGtidPosition('0-2-100');
    const primary = parseGtidPosition('0-2-120');
    assert.equal(isDivergedGtid('0-1-101', { serverId: 1 }, base, primary), true);
    assert.equal(isDivergedGtid('0-1-100', { serverId: 1 }, base, primary), false);
    assert.equal(isDivergedGtid('0-2-110', { serverId: 1 }, base, primary), false, 'replicated from the primary');
    assert.equal(isDivergedGtid('0-2-121', { serverId: 1 }, base, primary), true);
  });
});

describe('whether a diverged tail was acknowledged', () => {
  const evidence = { semiSync: true, timeoutMs: 10_000, stoppedBy: 1_000_000 };

  test('a semi-sync tail written less than the timeout before the node stopped was never answered', () => {
    assert.equal(acknowledgement([{ at: 995_000 }, { at: 996_000 }], evidence).acknowledged, false);
  });

  test('a tail spanning the timeout, written after the node stopped, or without semi-sync may have been', () => {
    assert.equal(acknowledgement([{ at: 989_000 }, { at: 999_000 }], evidence).acknowledged, true);
    assert.equal(acknowledgement([{ at: 1_000_500 }], evidence).acknowledged, true, 'a deposed primary still writing');
    assert.equal(acknowledgement([{ at: 999_000 }], { ...evidence, semiSync: false }).acknowledged, true);
  });

  test('a tail from before the recorded switch to semi-sync, or from its second, may have been answered', () => {
    const since = { ...evidence, since: 995_400 };
    assert.equal(acknowledgement([{ at: 995_000 }, { at: 996_000 }], since).acknowledged, true);
    assert.equal(acknowledgement([{ at: 996_000 }], since).acknowledged, false);
  });

  test('with the GTID position of the switch, only a transaction at or before it counts as before', () => {
    const at = { ...evidence, since: 995_400, sinceGtid: '0-1-40' };
    assert.equal(acknowledgement([{ at: 995_000, gtid: '0-1-41' }], at).acknowledged, false, 'same second, after');
    assert.equal(
      acknowledgement(
        [
          { at: 995_000, gtid: '0-1-40' },
          { at: 996_000, gtid: '0-1-41' },
        ],
        at,
      ).acknowledged,
      true,
    );
  });
});

describe('what a returning node ran as', () => {
  const restarted = { enabled: false, startedAt: 2_000_000 }; // the config says OFF after the restart

  test('a crashed primary that recorded its source side on ran semi-sync, although its config says OFF now', () => {
    const ran = sourceSideRan('db1', { primary: 'db1', on: true, at: 1_000_000 }, restarted);
    assert.deepEqual([ran.semiSync, ran.since], [true, 1_000_000]);
    assert.match(ran.basis!, /on since/);
  });

  test('a record saying the source side was switched off is async, even with the variable ON now', () => {
    for (const live of [restarted, { enabled: true, startedAt: 0 }]) {
      const ran = sourceSideRan('db1', { primary: 'db1', on: false, at: 1_000_000 }, live);
      assert.equal(ran.semiSync, false);
      assert.match(ran.basis!, /switched off/);
    }
    const evidence = { ...sourceSideRan('db1', { primary: 'db1', on: false, at: 1 }, restarted), timeoutMs: 10_000 };
    const ack = acknowledgement([{ at: 1_999_000 }], { ...evidence, stoppedBy: 2_000_000 });
    assert.equal(ack.acknowledged, true);
    assert.match(ack.why, /async.*switched off/);
  });

  test('recorded on but switched off by hand without a restart is async', () => {
    const ran = sourceSideRan(
      'db1',
      { primary: 'db1', on: true, at: 1_000_000 },
      { enabled: false, startedAt: 500_000 },
    );
    assert.equal(ran.semiSync, false);
  });

  test("a record made within Uptime's one-second precision before the start counts as before the restart", () => {
    // Uptime is whole seconds between two whole-second clocks: a restart 0.3 s after the record can read as 1 s old.
    const ran = sourceSideRan(
      'db1',
      { primary: 'db1', on: true, at: 1_000_000 },
      { enabled: false, startedAt: 999_700 },
    );
    assert.equal(ran.semiSync, true);
    const later = sourceSideRan(
      'db1',
      { primary: 'db1', on: true, at: 1_000_000 },
      { enabled: false, startedAt: 998_900 },
    );
    assert.equal(
      later.semiSync,
      false,
      'a record more than a second after the start is certainly this run: OFF by hand',
    );
  });

  test('no record of the node as primary falls back to the live variable', () => {
    assert.equal(sourceSideRan('db1', undefined, { enabled: true, startedAt: 0 }).semiSync, true);
    assert.equal(sourceSideRan('db1', { primary: 'db1', on: null, at: null }, restarted).semiSync, false);
    assert.equal(sourceSideRan('db1', { primary: 'db2', on: true, at: 1 }, restarted).semiSync, false);
  });
});

describe('undoing row changes', () => {
  test('deletes inserts, restores updates and re-inserts deletes, newest first, keyed by the primary key', () => {
    const txs = parseVerboseBinlog(BINLOG).slice(0, 2);
    const shapes = new Map([
      ['hs.articles', { columns: COLUMNS.get('articles')!, primaryKey: ['id'] }],
      ['hs.revisions', { columns: COLUMNS.get('revisions')!, primaryKey: ['id'] }],
      ['hs.pages', { columns: COLUMNS.get('pages')!, primaryKey: ['path'] }],
      ['hs.settings', { columns: COLUMNS.get('settings')!, primaryKey: [] }],
    ]);
    const statements = inversion(txs, shapes);
    assert.deepEqual(
      statements.map((s) => s.sql),
      [
        'INSERT INTO `hs`.`settings` (`name`, `value`) VALUES (?, ?)',
        'UPDATE `hs`.`pages` SET `path` = ?, `sha256` = ? WHERE `path` <=> ? LIMIT 1',
        'DELETE FROM `hs`.`revisions` WHERE `id` <=> ? LIMIT 1',
        'DELETE FROM `hs`.`articles` WHERE `id` <=> ? LIMIT 1',
      ],
    );
    assert.deepEqual(
      statements[1].params.map((p) => String(p)),
      ['/', 'aa', '/'],
    );
    assert.throws(() => inversion(parseVerboseBinlog(BINLOG), shapes), /0-1-11 is a schema change/);
    assert.throws(() => inversion(txs, new Map()), /hs.settings, whose columns are unknown/);
  });
});
