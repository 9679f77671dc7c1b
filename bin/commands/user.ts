// `hyperstatic user add|passwd|role|list` and `hyperstatic token list|revoke`:
// the same operations as the editor's Users page, for operators and scripts.
// Passwords are read from stdin with --password-stdin (never from argv, which
// other local users can read in the process list) or generated and printed.
// Every change is audited like the editor's (app/audit/audit-log.ts): a row
// with no account as actor, address "cli" and the operating-system user,
// written in the change's transaction; the log line goes to stderr.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import type { Command } from 'commander';
import { createAuditLog, type AuditEntry } from '../../app/audit/audit-log';
import { loadConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import { migrateLatest } from '../../app/db/migrate';
import {
  createApiToken,
  createUser,
  listTokens,
  listUsers,
  revokeToken,
  Role,
  ROLES,
  setPassword,
  setRole,
} from '../../app/auth/users';
import { withDatabase } from '../cli-support';

type Audited = Omit<AuditEntry, 'actor' | 'address'>;

/** Runs `work` in one transaction with the audit rows it records: both commit, or neither. */
export async function withAudit<T>(
  work: (trx: Knex.Transaction, record: (entry: Audited) => Promise<void>) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  return withDatabase(config, async (db) => {
    await migrateLatest(db);
    const audit = createAuditLog(db, createLogger(config.logLevel, 'cli', 'stderr'));
    let osUser = 'unknown';
    try {
      osUser = os.userInfo().username;
    } catch {
      // no passwd entry for this uid (a container): the row still says the command line did it
    }
    return db.transaction((trx) =>
      work(trx, (entry) =>
        audit.record(trx, { ...entry, actor: null, address: 'cli', detail: { ...entry.detail, via: 'cli', osUser } }),
      ),
    );
  });
}
import { alignColumns, isoMinute as iso } from '../text-table';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function passwordFrom(flags: { passwordStdin?: boolean }): Promise<{ password: string; generated: boolean }> {
  if (flags.passwordStdin) return { password: await readStdin(), generated: false };
  return { password: randomBytes(12).toString('base64url'), generated: true };
}

/** `token create`: the token's secret (printed once by the caller, never recorded), audited. */
export function createTokenAudited(user: string, label: string): Promise<string> {
  return withAudit(async (trx, record) => {
    const secret = await createApiToken(trx, user, label);
    const row = await trx('api_tokens')
      .join('users', 'users.id', 'api_tokens.user_id')
      .where('users.name', user)
      .orderBy('api_tokens.id', 'desc')
      .first('api_tokens.id as id');
    await record({ action: 'token_created', target: `token:${row.id}`, detail: { owner: user, label } });
    return secret;
  });
}

/** A listing: aligned columns under a header row, one line each. */
const table = (rows: string[][]) => `${alignColumns(rows)}\n`;

/** `write` is where command output goes (stdout; tests pass their own). */
export function register(
  program: Command,
  { write = (text: string) => void process.stdout.write(text) }: { write?: (text: string) => void } = {},
): void {
  const user = program.command('user').description('Editor accounts (roles: admin, editor, moderator)');

  user
    .command('add <name>')
    .description('Create a user; prints a generated password unless --password-stdin gives one')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'editor')
    .option('--password-stdin', 'read the password from stdin (at least 10 characters)')
    .action(async (name: string, flags: { role: string; passwordStdin?: boolean }) => {
      if (!ROLES.includes(flags.role as Role))
        throw new Error(`--role must be one of ${ROLES.join(', ')}, got "${flags.role}"`);
      const { password, generated } = await passwordFrom(flags);
      const created = await withAudit(async (trx, record) => {
        const user = await createUser(trx, name, flags.role as Role, password);
        await record({ action: 'user_created', target: `user:${user.name}`, detail: { role: user.role } });
        return user;
      });
      write(`created ${created.role} "${created.name}"${generated ? `; password: ${password}` : ''}\n`);
    });

  user
    .command('passwd <name>')
    .description(
      "Reset a user's password (ends their sessions); prints a generated one unless --password-stdin gives one",
    )
    .option('--password-stdin', 'read the new password from stdin (at least 10 characters)')
    .action(async (name: string, flags: { passwordStdin?: boolean }) => {
      const { password, generated } = await passwordFrom(flags);
      await withAudit(async (trx, record) => {
        const user = await setPassword(trx, name, password);
        await record({ action: 'password_reset', target: `user:${user.name}`, detail: { sessionsEnded: true } });
      });
      write(
        `password of "${name}" reset; their sessions were ended${generated ? `; new password: ${password}` : ''}\n`,
      );
    });

  user
    .command('role <name> <role>')
    .description(`Change a user's role (${ROLES.join(', ')})`)
    .action(async (name: string, role: string) => {
      const changed = await withAudit(async (trx, record) => {
        const before = await trx('users').where({ name }).first('role');
        const user = await setRole(trx, name, role as Role);
        const was = (before?.role as string | undefined) ?? null;
        await record({ action: 'role_changed', target: `user:${user.name}`, detail: { role: user.role, was } });
        return user;
      });
      write(`"${changed.name}" is now ${changed.role}\n`);
    });

  user
    .command('list')
    .description('List users with their role and number of active API tokens')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const users = await withDatabase(loadConfig(), (db) => listUsers(db));
      if (flags.json) {
        write(`${JSON.stringify(users, null, 2)}\n`);
        return;
      }
      write(
        table([
          ['NAME', 'ROLE', 'CREATED', 'PASSWORD', 'TOKENS'],
          ...users.map((u) => [u.name, u.role, iso(u.createdAt), u.hasPassword ? 'set' : 'none', String(u.tokens)]),
        ]),
      );
    });

  registerTokenCommands(program, write);
}

function registerTokenCommands(program: Command, write: (text: string) => void): void {
  // `token create` is defined with the core commands (bin/cli.ts); list and revoke join it.
  const token =
    program.commands.find((c) => c.name() === 'token') ?? program.command('token').description('API tokens');
  token
    .command('list')
    .description('List API tokens (never their secrets)')
    .option('--user <name>', "only this user's tokens")
    .action(async (flags: { user?: string }) => {
      const tokens = await withDatabase(loadConfig(), (db) => listTokens(db, flags.user));
      write(
        table([
          ['ID', 'USER', 'LABEL', 'CREATED', 'REVOKED'],
          ...tokens.map((t) => [String(t.id), t.user, t.label || '-', iso(t.createdAt), iso(t.revokedAt)]),
        ]),
      );
    });
  token
    .command('revoke <id>')
    .description('Revoke an API token by id (see `token list`); it stops working on the next request')
    .action(async (id: string) => {
      if (!/^[1-9]\d{0,9}$/.test(id)) throw new Error(`token id must be a positive integer, got "${id}"`);
      const revoked = await withAudit(async (trx, record) => {
        const token = await revokeToken(trx, Number(id));
        await record({ action: 'token_revoked', target: `token:${token.id}`, detail: { owner: token.user } });
        return token;
      });
      write(`token ${revoked.id} of "${revoked.user}" revoked\n`);
    });
}
