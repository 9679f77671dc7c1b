// `hyperstatic user add|passwd|role|list` and `hyperstatic token list|revoke`:
// the same operations as the editor's Users page, for operators and scripts.
// Passwords are read from stdin with --password-stdin (never from argv, which
// other local users can read in the process list) or generated and printed.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { loadConfig } from '../../common/config';
import { migrateLatest } from '../../app/db/migrate';
import {
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
      const created = await withDatabase(loadConfig(), async (db) => {
        await migrateLatest(db);
        return createUser(db, name, flags.role as Role, password);
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
      await withDatabase(loadConfig(), (db) => setPassword(db, name, password));
      write(
        `password of "${name}" reset; their sessions were ended${generated ? `; new password: ${password}` : ''}\n`,
      );
    });

  user
    .command('role <name> <role>')
    .description(`Change a user's role (${ROLES.join(', ')})`)
    .action(async (name: string, role: string) => {
      const changed = await withDatabase(loadConfig(), (db) => setRole(db, name, role as Role));
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
      const revoked = await withDatabase(loadConfig(), (db) => revokeToken(db, Number(id)));
      write(`token ${revoked.id} of "${revoked.user}" revoked\n`);
    });
}
