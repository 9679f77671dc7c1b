// `hyperstatic user add|passwd|role|list` and `token list|revoke`, run as real
// processes against real MariaDB. Bad input exits non-zero with a message
// naming the problem and changes nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDatabase, Database } from '../../common/database';
import { migrateLatest } from '../../app/db/migrate';
import { authenticatePassword, createApiToken, createUser } from '../../app/auth/users';
import { sharedDatabase, SharedDatabase } from '../harness/shared';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');

describe('user and token commands', () => {
  let shared: SharedDatabase;
  let db: Database;

  before(async () => {
    shared = await sharedDatabase('editor_cli');
    db = createDatabase(shared.primaryUrl);
    await migrateLatest(db);
    await createUser(db, 'chief', 'admin', 'chief password 1');
  });
  after(async () => {
    await db?.destroy();
    await shared?.drop();
  });

  function cli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: shared.primaryUrl, LOG_LEVEL: 'silent' }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(stdin);
    });
  }

  it('adds users with a password from stdin or a generated one, and lists them', async () => {
    const fromStdin = await cli(['user', 'add', 'reporter', '--role', 'editor', '--password-stdin'], 'reporter password 9\n');
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.ok(await authenticatePassword(db, 'reporter', 'reporter password 9'));
    const generated = await cli(['user', 'add', 'watcher', '--role', 'moderator']);
    assert.equal(generated.code, 0, generated.stderr);
    const password = /password: (\S+)/.exec(generated.stdout)![1];
    assert.equal((await authenticatePassword(db, 'watcher', password))?.role, 'moderator');
    const list = await cli(['user', 'list']);
    assert.match(list.stdout, /^reporter\s+editor\s/m);
    assert.match(list.stdout, /^watcher\s+moderator\s/m);
  });

  it('refuses a bad role, a duplicate name and a short password, naming the problem and changing nothing', async () => {
    const before = await db('users').count({ n: '*' });
    const badRole = await cli(['user', 'add', 'someone', '--role', 'owner']);
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /--role must be one of admin, editor, moderator/);
    const dup = await cli(['user', 'add', 'reporter', '--role', 'editor']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);
    const short = await cli(['user', 'passwd', 'reporter', '--password-stdin'], 'short');
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /at least 10 characters/);
    assert.ok(await authenticatePassword(db, 'reporter', 'reporter password 9'), 'the old password still works');
    assert.deepEqual(await db('users').count({ n: '*' }), before);
  });

  it('resets a password and ends the user\'s sessions', async () => {
    const user = await db('users').where({ name: 'reporter' }).first('id');
    await db('sessions').insert({ id: 'a'.repeat(64), user_id: user.id, csrf_token: 'x', created_at: Date.now(), expires_at: Date.now() + 3600_000 });
    const res = await cli(['user', 'passwd', 'reporter', '--password-stdin'], 'a brand new password');
    assert.equal(res.code, 0, res.stderr);
    assert.ok(await authenticatePassword(db, 'reporter', 'a brand new password'));
    assert.equal(await db('sessions').where({ user_id: user.id }).first(), undefined);
  });

  it('lists and revokes API tokens without ever printing their secrets', async () => {
    const secret = await createApiToken(db, 'reporter', 'import script');
    const list = await cli(['token', 'list']);
    assert.match(list.stdout, /reporter\s+import script/);
    assert.doesNotMatch(list.stdout, new RegExp(secret));
    const id = /^(\d+)\s+reporter/m.exec(list.stdout)![1];
    const bad = await cli(['token', 'revoke', 'abc']);
    assert.match(bad.stderr, /token id must be a positive integer/);
    const revoked = await cli(['token', 'revoke', id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.ok((await db('api_tokens').where({ id: Number(id) }).first()).revoked_at);
  });
});
