// Who may report a mirror's status, against a real (SQLite) database.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDatabase, type Database } from '../../common/db/database';
import { migrateLatest } from '../db/migrate';
import {
  addMirrorCredential,
  authorizeStatusReport,
  listMirrorCredentials,
  revokeMirrorCredential,
} from './mirror-credentials';

describe('mirror status credentials', () => {
  let dir: string;
  let db: Database;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperstatic-mirror-credentials-'));
    db = createDatabase(`sqlite:${path.join(dir, 'db.sqlite')}`);
    await migrateLatest(db);
  });

  after(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('with nothing issued and no shared token, reports are open; the shared token alone then guards them', async () => {
    await authorizeStatusReport(db, undefined, 'anyone', '');
    await assert.rejects(authorizeStatusReport(db, undefined, 'anyone', 'legacy-shared-secret'), { status: 401 });
    await assert.rejects(authorizeStatusReport(db, 'Bearer wrong', 'anyone', 'legacy-shared-secret'), { status: 401 });
    // Deprecated, but kept: any name may report with the shared token.
    await authorizeStatusReport(db, 'Bearer legacy-shared-secret', 'anyone', 'legacy-shared-secret');
  });

  test('a shared token of the same length but other bytes (non-ASCII in the header) is refused with 401, not a crash', async () => {
    await assert.rejects(
      authorizeStatusReport(db, 'Bearer legacy-shared-secr\u00e9t', 'anyone', 'legacy-shared-secret'),
      { status: 401 },
    );
  });

  test('an issued token reports as its own name only, alongside the shared one, until revoked', async () => {
    const token = await addMirrorCredential(db, 'mirror-west', 1000);
    await authorizeStatusReport(db, `Bearer ${token}`, 'mirror-west', '');
    await assert.rejects(authorizeStatusReport(db, `Bearer ${token}`, 'mirror-east', ''), {
      status: 403,
      message: /belongs to mirror mirror-west/,
    });
    await assert.rejects(
      authorizeStatusReport(db, undefined, 'mirror-west', ''),
      { status: 401 },
      'issued tokens close anonymous reporting',
    );
    await authorizeStatusReport(db, 'Bearer legacy-shared-secret', 'mirror-east', 'legacy-shared-secret');
    await revokeMirrorCredential(db, 'mirror-west', 2000);
    await assert.rejects(authorizeStatusReport(db, `Bearer ${token}`, 'mirror-west', ''), {
      status: 401,
      message: /revoked/,
    });
    await assert.rejects(revokeMirrorCredential(db, 'mirror-west'), { status: 404 });
    assert.deepEqual(await listMirrorCredentials(db), [{ name: 'mirror-west', createdAt: 1000, revokedAt: 2000 }]);
    // A new token replaces the revoked one; the old one stays dead.
    const again = await addMirrorCredential(db, 'mirror-west', 3000);
    await authorizeStatusReport(db, `Bearer ${again}`, 'mirror-west', '');
    await assert.rejects(authorizeStatusReport(db, `Bearer ${token}`, 'mirror-west', ''), { status: 401 });
  });

  test('revoking every token does not reopen anonymous reporting', async () => {
    const names = (await listMirrorCredentials(db)).filter((c) => c.revokedAt === null).map((c) => c.name);
    for (const name of names) await revokeMirrorCredential(db, name, 4000);
    // A leaked token is revoked; its holder must not get in by simply leaving the token out.
    await assert.rejects(authorizeStatusReport(db, undefined, 'mirror-west', ''), { status: 401 });
    await assert.rejects(authorizeStatusReport(db, undefined, 'anyone', ''), { status: 401 });
  });

  test('refuses a name that could not be typed safely into an environment file', async () => {
    for (const name of ['', 'two words', '../etc', 'x'.repeat(201), 'naïve']) {
      await assert.rejects(addMirrorCredential(db, name), { status: 400, message: /mirror name/ }, name);
    }
  });
});
