// `hyperstatic user add|passwd|role|list` and `token list|revoke` against
// real MariaDB. Three runs go through the real executable (stdin, exit codes);
// the rest drive the same commander commands in-process, which is what a
// process spawn would run, at a fraction of the cost. Bad input fails with a
// message naming the problem and changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDatabase, Database } from '../../common/db/database';
import { migrateLatest } from '../../app/db/migrate';
import { authenticatePassword, createApiToken, createUser } from '../../app/auth/users';
import { register } from '../../bin/commands/user';
import { sharedDatabase, SharedDatabase } from '../harness/shared';
import { runCli, runCommand, type CliRun } from '../support/cli';

describe('user and token commands', () => {
  let shared: SharedDatabase;
  let db: Database;
  let savedUrl: string | undefined;

  before(async () => {
    shared = await sharedDatabase('editor_cli');
    db = createDatabase(shared.primaryUrl);
    await migrateLatest(db);
    await createUser(db, 'chief', 'admin', 'desk lead password 1');
    savedUrl = process.env.DATABASE_URL;
    process.env.DATABASE_URL = shared.primaryUrl;
  });
  after(async () => {
    if (savedUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = savedUrl;
    await db?.destroy();
    await shared?.drop();
  });

  function spawnCli(args: string[], stdin = ''): Promise<CliRun> {
    return runCli(args, { env: { ...process.env, DATABASE_URL: shared.primaryUrl, LOG_LEVEL: 'silent' }, stdin });
  }

  /** Runs the commands in-process; resolves to stdout, or rejects with the error the CLI would print. */
  async function run(args: string[]): Promise<string> {
    return (await runCommand(register, args)).out;
  }

  it('adds a user with a password read from stdin, through the real executable', async () => {
    const res = await spawnCli(
      ['user', 'add', 'reporter', '--role', 'editor', '--password-stdin'],
      'night shift notes 9\n',
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /created editor "reporter"/);
    assert.doesNotMatch(res.stdout, /night shift notes 9/, 'a password given on stdin is not echoed');
    assert.ok(await authenticatePassword(db, 'reporter', 'night shift notes 9'));
  });

  it('exits non-zero naming the problem for a short or common password, keeping the old one', async () => {
    const res = await spawnCli(['user', 'passwd', 'reporter', '--password-stdin'], 'short');
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /hyperstatic: passwords must have at least 10 characters/);
    const common = await spawnCli(['user', 'passwd', 'reporter', '--password-stdin'], 'Password123');
    assert.notEqual(common.code, 0);
    assert.match(common.stderr, /hyperstatic: that password is on a list of common passwords/);
    assert.ok(await authenticatePassword(db, 'reporter', 'night shift notes 9'));
  });

  it('adds a user with a generated password and lists users', async () => {
    const added = await run(['user', 'add', 'watcher', '--role', 'moderator']);
    const password = /password: (\S+)/.exec(added)![1];
    assert.equal((await authenticatePassword(db, 'watcher', password))?.role, 'moderator');
    const list = await run(['user', 'list']);
    assert.match(list, /^reporter\s+editor\s/m);
    assert.match(list, /^watcher\s+moderator\s/m);
  });

  it('refuses a bad role, a duplicate name and a bad name, changing nothing', async () => {
    const before = await db('users').count({ n: '*' });
    await assert.rejects(
      run(['user', 'add', 'someone', '--role', 'owner']),
      /--role must be one of admin, editor, moderator/,
    );
    await assert.rejects(run(['user', 'add', 'reporter', '--role', 'editor']), /already exists/);
    await assert.rejects(run(['user', 'add', '../root', '--role', 'editor']), /user names are/);
    await assert.rejects(run(['user', 'role', 'reporter', 'owner']), /role must be one of/);
    assert.deepEqual(await db('users').count({ n: '*' }), before);
  });

  it("resets a password (generated) and ends the user's sessions", async () => {
    const user = await db('users').where({ name: 'reporter' }).first('id');
    await db('sessions').insert({
      id: 'a'.repeat(64),
      user_id: user.id,
      csrf_token: 'x',
      created_at: Date.now(),
      expires_at: Date.now() + 3600_000,
    });
    const out = await run(['user', 'passwd', 'reporter']);
    const password = /new password: (\S+)/.exec(out)![1];
    assert.ok(await authenticatePassword(db, 'reporter', password));
    assert.equal(await db('sessions').where({ user_id: user.id }).first(), undefined);
  });

  it('lists and revokes API tokens without ever printing their secrets', async () => {
    const secret = await createApiToken(db, 'reporter', 'import script');
    const list = await run(['token', 'list']);
    assert.match(list, /reporter\s+import script/);
    assert.doesNotMatch(list, new RegExp(secret));
    const id = /^(\d+)\s+reporter/m.exec(list)![1];
    await assert.rejects(run(['token', 'revoke', 'abc']), /token id must be a positive integer/);
    await assert.rejects(run(['token', 'revoke', '99999']), /token 99999 not found/);
    assert.match(await run(['token', 'revoke', id]), new RegExp(`token ${id} of "reporter" revoked`));
    assert.ok(
      (
        await db('api_tokens')
          .where({ id: Number(id) })
          .first()
      ).revoked_at,
    );
  });

  it('audits every change it makes like the editor does, with "cli" as the address, and prints a new token alone', async () => {
    await run(['user', 'role', 'watcher', 'editor']);
    const created = await spawnCli(['token', 'create', '--user', 'watcher', '--label', 'feed import']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^hs_[A-Za-z0-9_-]+\n$/, 'stdout holds the token alone');
    const rows = await db('audit_log')
      .where({ address: 'cli' })
      .orderBy('id')
      .select('action', 'target', 'actor_name', 'detail');
    const seen = rows.map((r) => `${r.action} ${r.target}`);
    for (const expected of [
      'user_created user:reporter',
      'user_created user:watcher',
      'password_reset user:reporter',
      'token_revoked token:',
      'role_changed user:watcher',
      'token_created token:',
    ])
      assert.ok(
        seen.some((line) => line.startsWith(expected)),
        `${expected} in ${JSON.stringify(seen)}`,
      );
    for (const row of rows) {
      assert.equal(row.actor_name, null, 'no account acted: the command line did');
      const detail = JSON.parse(String(row.detail)) as Record<string, unknown>;
      assert.equal(detail.via, 'cli');
      assert.doesNotMatch(JSON.stringify(detail), /hs_|password:/, 'never a secret');
    }
    const role = rows.find((r) => r.action === 'role_changed')!;
    assert.deepEqual(JSON.parse(String(role.detail)).was, 'moderator');
    // A refused command writes no row.
    const before = rows.length;
    await assert.rejects(run(['user', 'role', 'watcher', 'owner']), /role must be one of/);
    assert.equal((await db('audit_log').where({ address: 'cli' }).count({ n: '*' }))[0].n, before);
  });
});
