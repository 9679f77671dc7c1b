// The audit log (docs/operations.md, "Audit log"): every sign-in and its
// failures, session ends, user, role, password and token changes, publishes,
// hides, deletes, restores, settings changes and preview links, as a row an admin browses
// in the editor (/editor/audit) and as a structured log line. Neither holds
// a secret: no password, token, cookie or request body, only names and ids.
// A row written inside a save's transaction commits with it; its log line is
// written once the transaction has committed, never for a rolled-back save.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { Logger } from '../../common/logger';
import { BadRequestError } from '../errors';

export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'login_throttled',
  'logout',
  'sessions_ended',
  'password_changed',
  'password_reset',
  'user_created',
  'role_changed',
  'profile_changed',
  'token_created',
  'token_revoked',
  'publish',
  'hide',
  'feature',
  'unfeature',
  'delete',
  'restore',
  'slug_changed',
  'settings_changed',
  'preview_created',
  'preview_revoked',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditActor {
  id: number | null;
  name: string | null;
}

export interface AuditEntry {
  action: AuditAction;
  /** Who acted; null for a stranger (a failed login names the account tried in `target`). */
  actor: AuditActor | null;
  /** What it was done to: `user:NAME`, `article:12`, `token:3`, `settings`. */
  target?: string;
  address?: string;
  /** Small facts (a role, a reason, a count); never a secret. */
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string | null;
  action: AuditAction;
  target: string;
  address: string;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string;
  action?: AuditAction;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  limit: number;
  offset: number;
}

export interface AuditLog {
  /** Writes the row with `db` (a transaction: it commits with the change), then logs the line. */
  record(db: Database | Knex.Transaction, entry: AuditEntry): Promise<void>;
  /** Newest first, with the number of matching rows for paging. */
  list(filter: AuditFilter): Promise<{ rows: AuditRow[]; total: number }>;
}

export function createAuditLog(db: Database, logger: Logger, now: () => number = Date.now): AuditLog {
  return {
    async record(conn, entry) {
      const at = now();
      const row = {
        at,
        actor_id: entry.actor?.id ?? null,
        actor_name: entry.actor?.name?.slice(0, 64) ?? null,
        action: entry.action,
        target: (entry.target ?? '').slice(0, 200),
        address: (entry.address ?? '').slice(0, 64),
        detail: entry.detail ? JSON.stringify(entry.detail) : null,
      };
      await conn('audit_log').insert(row);
      const line = () =>
        logger.info(
          { audit: entry.action, actor: row.actor_name, target: row.target, address: row.address, ...entry.detail },
          `audit: ${entry.action}`,
        );
      const trx = conn as Partial<Knex.Transaction>;
      if (trx.isTransaction && trx.executionPromise) trx.executionPromise.then(line, () => undefined);
      else line();
    },

    async list(filter) {
      const query = db('audit_log');
      if (filter.actor) query.where('actor_name', filter.actor);
      if (filter.action) query.where('action', filter.action);
      if (filter.from !== undefined) query.where('at', '>=', filter.from);
      if (filter.to !== undefined) query.where('at', '<', filter.to);
      const [{ n }] = await query.clone().count({ n: '*' });
      const rows = await query.orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).select('*');
      return {
        total: Number(n),
        rows: rows.map((r) => ({
          id: Number(r.id),
          at: Number(r.at),
          actor: (r.actor_name as string | null) ?? null,
          action: r.action as AuditAction,
          target: r.target as string,
          address: r.address as string,
          detail: r.detail ? (JSON.parse(String(r.detail)) as Record<string, unknown>) : {},
        })),
      };
    },
  };
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A YYYY-MM-DD day (UTC) as epoch ms, or a 400 naming `field`. */
function parseDay(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const match = typeof raw === 'string' ? DAY.exec(raw) : null;
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw)
    throw new BadRequestError(`${field} must be a date written YYYY-MM-DD`, field);
  return ms;
}

/** The filter a query string asks for (the UI's and the API's); a 400 naming the field for a bad one. */
export function parseAuditFilter(query: Record<string, unknown>, pageSize: number): AuditFilter & { page: number } {
  const actor = query.actor === undefined || query.actor === '' ? undefined : query.actor;
  if (actor !== undefined && (typeof actor !== 'string' || actor.length > 64))
    throw new BadRequestError('actor must be a user name of at most 64 characters', 'actor');
  const action = query.action === undefined || query.action === '' ? undefined : query.action;
  if (action !== undefined && !AUDIT_ACTIONS.includes(action as AuditAction))
    throw new BadRequestError(`action must be one of ${AUDIT_ACTIONS.join(', ')}`, 'action');
  const from = parseDay(query.from, 'from');
  const toDay = parseDay(query.to, 'to');
  const to = toDay === undefined ? undefined : toDay + 86400_000;
  if (from !== undefined && to !== undefined && to <= from)
    throw new BadRequestError('to must be the same day as from or later', 'to');
  const rawPage = query.page === undefined || query.page === '' ? '1' : query.page;
  if (typeof rawPage !== 'string' || !/^[1-9]\d{0,5}$/.test(rawPage))
    throw new BadRequestError('page must be a positive integer', 'page');
  const page = Number(rawPage);
  return {
    actor: actor as string | undefined,
    action: action as AuditAction | undefined,
    from,
    to,
    page,
    limit: pageSize,
    offset: (page - 1) * pageSize,
  };
}
