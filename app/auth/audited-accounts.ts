// The account changes the editor UI and the JSON API both make, each with its
// audit row written in the same transaction (app/audit/audit-log.ts). What a
// row names: who acted, from where, and the user or token concerned; never
// a password or a token's secret.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { AuditLog } from '../audit/audit-log';
import {
  changeOwnPassword,
  createApiToken,
  createUser,
  endSessions,
  listTokens,
  OwnPasswordChange,
  revokeToken,
  Role,
  setPassword,
  setRole,
  TokenSummary,
  User,
} from './users';
import { Profile, ProfileChange, updateProfile } from './people';

/** Who is acting and from where. */
export interface AccountActor {
  user: User;
  address: string;
}

type Conn = Database | Knex.Transaction;

export function auditedAccounts(audit: AuditLog, now: () => number) {
  return { ...auditedUsers(audit, now), ...auditedProfiles(audit, now), ...auditedTokens(audit, now) };
}

function auditedProfiles(audit: AuditLog, now: () => number) {
  return {
    /** A user's display name, bio or (admins) author slug; the audit row names the fields changed, not their text. */
    async updateProfile(
      conn: Knex.Transaction,
      by: AccountActor,
      name: string,
      change: ProfileChange,
    ): Promise<Profile> {
      const { changed, ...profile } = await updateProfile(conn, name, change, by.user, now());
      if (changed.length)
        await audit.record(conn, {
          action: 'profile_changed',
          actor: by.user,
          target: `user:${name}`,
          address: by.address,
          detail: { changed: changed.join(', '), slug: profile.slug },
        });
      return profile;
    },
  };
}

function auditedUsers(audit: AuditLog, now: () => number) {
  return {
    async createUser(conn: Conn, by: AccountActor, name: string, role: Role, password: string | null): Promise<User> {
      const user = await createUser(conn, name, role, password, now());
      await audit.record(conn, {
        action: 'user_created',
        actor: by.user,
        target: `user:${user.name}`,
        address: by.address,
        detail: { role: user.role },
      });
      return user;
    },

    async resetPassword(conn: Conn, by: AccountActor, name: string, password: string): Promise<User> {
      const user = await setPassword(conn, name, password);
      await audit.record(conn, {
        action: 'password_reset',
        actor: by.user,
        target: `user:${user.name}`,
        address: by.address,
        detail: { sessionsEnded: true },
      });
      return user;
    },

    async setRole(conn: Conn, by: AccountActor, name: string, role: Role): Promise<User> {
      const before = await conn('users').where({ name }).first('role');
      const user = await setRole(conn, name, role, by.user.name);
      await audit.record(conn, {
        action: 'role_changed',
        actor: by.user,
        target: `user:${user.name}`,
        address: by.address,
        detail: { role: user.role, was: (before?.role as string | undefined) ?? null },
      });
      return user;
    },

    async endSessions(conn: Conn, by: AccountActor, name: string): Promise<{ user: string; sessionsEnded: number }> {
      const { user, sessionsEnded } = await endSessions(conn, name);
      await audit.record(conn, {
        action: 'sessions_ended',
        actor: by.user,
        target: `user:${user.name}`,
        address: by.address,
        detail: { sessionsEnded },
      });
      return { user: user.name, sessionsEnded };
    },

    async changeOwnPassword(
      conn: Conn,
      by: AccountActor,
      change: OwnPasswordChange,
    ): Promise<{ sessionsEnded: number; tokensRevoked: number }> {
      const result = await changeOwnPassword(conn, by.user, change, now());
      await audit.record(conn, {
        action: 'password_changed',
        actor: by.user,
        target: `user:${by.user.name}`,
        address: by.address,
        detail: { ...result },
      });
      return result;
    },
  };
}

function auditedTokens(audit: AuditLog, now: () => number) {
  return {
    /** Returns the new token's secret: shown once to its owner, never stored or logged. */
    async createToken(conn: Conn, by: AccountActor, label: string): Promise<{ secret: string; token: TokenSummary }> {
      const secret = await createApiToken(conn, by.user.name, label, now());
      const row = await conn('api_tokens').where({ user_id: by.user.id }).orderBy('id', 'desc').first('id');
      await audit.record(conn, {
        action: 'token_created',
        actor: by.user,
        target: `token:${row.id}`,
        address: by.address,
        detail: { owner: by.user.name, label },
      });
      const token = (await listTokens(conn, by.user.name)).find((t) => t.id === Number(row.id))!;
      return { secret, token };
    },

    async revokeToken(conn: Conn, by: AccountActor, id: number): Promise<TokenSummary> {
      const token = await revokeToken(conn, id, now(), by.user);
      await audit.record(conn, {
        action: 'token_revoked',
        actor: by.user,
        target: `token:${id}`,
        address: by.address,
        detail: { owner: token.user },
      });
      return token;
    },
  };
}

export type AuditedAccounts = ReturnType<typeof auditedAccounts>;
