import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignColumns, formatTable, isoMinute } from './text-table';

describe('CLI text tables', () => {
  it('pads every column to its widest cell, two spaces apart, with no trailing spaces', () => {
    assert.equal(
      alignColumns([
        ['NAME', 'ROLE', 'TOKENS'],
        ['admin', 'admin', '2'],
        ['al', 'moderator', '10'],
      ]),
      ['NAME   ROLE       TOKENS', 'admin  admin      2', 'al     moderator  10'].join('\n'),
    );
  });

  it('keeps a cell that holds spaces in one column', () => {
    assert.equal(
      alignColumns([
        ['A', 'B'],
        ['two words', 'x'],
      ]),
      'A          B\ntwo words  x',
    );
  });

  it('rules the header off with dashes as wide as each column', () => {
    assert.equal(
      formatTable(
        ['NODE', 'LAG s', 'ERROR'],
        [
          ['db-primary', '0', ''],
          ['db2', '-', 'connect ECONNREFUSED'],
        ],
      ),
      [
        'NODE        LAG s  ERROR',
        '----------  -----  --------------------',
        'db-primary  0',
        'db2         -      connect ECONNREFUSED',
      ].join('\n'),
    );
  });

  it('shows times to the minute in UTC, and "-" for none', () => {
    assert.equal(isoMinute(Date.UTC(2026, 2, 1, 14, 5, 59)), '2026-03-01 14:05');
    assert.equal(isoMinute(0), '1970-01-01 00:00');
    assert.equal(isoMinute(null), '-');
  });
});
