// The embedded database's folder and files are private to their owner: a new
// one is created 0700/0600, and an older one left 0755/0644 is tightened on
// start, with a log line naming each path.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createDatabase } from '../../common/db/database';
import { migrateLatest } from '../../app/db/migrate';

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe('embedded database file modes', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-modes-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('creates the data folder 0700 and the database and its WAL files 0600, whatever the umask', async () => {
    const dir = path.join(root, 'fresh', 'data');
    const file = path.join(dir, 'hyperstatic.sqlite');
    const umask = process.umask(0o022);
    const lines: object[] = [];
    try {
      const db = createDatabase(`sqlite:${file}`, { logger: { warn: (fields) => lines.push(fields) } });
      await migrateLatest(db);
      await db('settings').insert({ name: 'probe', value: 'x' });
      assert.equal(modeOf(dir), 0o700);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(f), 0o600, f);
      await db.destroy();
    } finally {
      process.umask(umask);
    }
    assert.deepEqual(lines, [], 'nothing needed tightening');
  });

  it('tightens an existing world-readable folder and database on start and logs each path', async () => {
    const dir = path.join(root, 'old');
    const file = path.join(dir, 'hyperstatic.sqlite');
    const first = createDatabase(`sqlite:${file}`);
    await migrateLatest(first);
    await first.destroy();
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(file, 0o644);
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const db = createDatabase(`sqlite:${file}`, {
      logger: { warn: (fields, message) => lines.push({ fields: fields as Record<string, unknown>, message }) },
    });
    await db('settings').select('*');
    await db.destroy();
    assert.equal(modeOf(dir), 0o700);
    assert.equal(modeOf(file), 0o600);
    assert.deepEqual(
      lines.map((l) => [l.fields.path, l.fields.from, l.fields.to]),
      [
        [dir, '0755', '0700'],
        [file, '0644', '0600'],
      ],
    );
    assert.match(lines[1].message, /made .*hyperstatic\.sqlite private to its owner \(mode 0644 -> 0600\)/);
  });
});
