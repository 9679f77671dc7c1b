// Shareable preview links (docs/api.md, "Preview links"): an editor hands a
// draft or scheduled article or event to someone without an account. The
// token is 32 random bytes shown once, at creation; the database keeps only
// its keyed hash (HMAC with the site secret, app/auth/site-secret.ts), so a
// copy of the database, a backup or a replica opens no preview. A link
// expires (48 hours unless asked otherwise, at most a week) and can be
// revoked; creating and revoking one each write an audit row in the same
// transaction.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../common/db/database';
import type { AuditLog } from '../audit/audit-log';
import { keyedHashOf } from '../auth/site-secret';
import type { Item } from '../content/item-kind';
import { insertId } from '../content/item-writes';
import { BadRequestError, ConflictError, NotFoundError } from '../errors';

export const PREVIEW_HOURS = { default: 48, min: 1, max: 168 } as const;

/** base64url of 32 bytes. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type PreviewTopic = 'article' | 'event';

export interface PreviewLink {
  id: number;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  createdBy: string | null;
  state: 'active' | 'expired' | 'revoked';
}

/** A new link: the token appears here and nowhere else, ever. */
export interface CreatedPreview extends PreviewLink {
  token: string;
  path: string;
}

export interface PreviewActor {
  id: number;
  name: string | null;
}

/**
 * `expiresInHours` from a JSON body (a number) or a form (digits): absent
 * (or an empty form field) is the default; else a whole number within the
 * limits, or 400.
 */
export function parseExpiresInHours(raw: unknown, from: 'json' | 'form'): number {
  if (raw === undefined || (from === 'form' && raw === '')) return PREVIEW_HOURS.default;
  const n = from === 'form' && typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < PREVIEW_HOURS.min || n > PREVIEW_HOURS.max)
    throw new BadRequestError(
      `expiresInHours must be a whole number of hours from ${PREVIEW_HOURS.min} to ${PREVIEW_HOURS.max}`,
      'expiresInHours',
    );
  return n;
}

/** Whether an item may be previewed: not public yet (a draft, scheduled or not). */
export function refuseUnlessPreviewable(item: Pick<Item, 'status'>, what: string): void {
  if (item.status !== 'draft')
    throw new ConflictError(
      `only drafts and scheduled items have preview links; this ${what} is ${item.status}`,
      'status',
    );
}

export function previewState(row: { expiresAt: number; revokedAt: number | null }, now: number): PreviewLink['state'] {
  if (row.revokedAt !== null) return 'revoked';
  return row.expiresAt <= now ? 'expired' : 'active';
}

export interface PreviewLinks {
  create(topic: PreviewTopic, item: Item, hours: number, actor: PreviewActor): Promise<CreatedPreview>;
  list(topic: PreviewTopic, itemId: number): Promise<PreviewLink[]>;
  revoke(topic: PreviewTopic, itemId: number, linkId: number, actor: PreviewActor): Promise<PreviewLink>;
  /** The item a token opens now, or undefined (unknown, expired or revoked: the caller answers 404 alike). */
  resolve(token: string): Promise<{ topic: PreviewTopic; itemId: number; expiresAt: number } | undefined>;
}

export function createPreviewLinks(db: Database, audit: AuditLog, now: () => number): PreviewLinks {
  const hashOf = async (token: string) => (await keyedHashOf(db))('preview-link', token);
  const select = () =>
    db('preview_links')
      .leftJoin('users', 'users.id', 'preview_links.created_by')
      .select('preview_links.*', 'users.name as created_by_name');
  const toLink = (r: Record<string, unknown>, at: number): PreviewLink => {
    const row = {
      id: Number(r.id),
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      revokedAt: r.revoked_at == null ? null : Number(r.revoked_at),
      createdBy: (r.created_by_name as string | null) ?? null,
    };
    return { ...row, state: previewState(row, at) };
  };

  return {
    async create(topic, item, hours, actor) {
      refuseUnlessPreviewable(item, topic);
      const token = randomBytes(32).toString('base64url');
      const tokenHash = await hashOf(token);
      const at = now();
      const expiresAt = at + hours * 3600_000;
      const id = await db.transaction(async (trx) => {
        const linkId = await insertId(trx, 'preview_links', {
          topic,
          item_id: item.id,
          token_hash: tokenHash,
          created_by: actor.id,
          created_at: at,
          expires_at: expiresAt,
        });
        await audit.record(trx, {
          action: 'preview_created',
          actor,
          target: `${topic}:${item.id}`,
          detail: { link: linkId, expiresAt: new Date(expiresAt).toISOString() },
        });
        return linkId;
      });
      const link = { id, createdAt: at, expiresAt, revokedAt: null, createdBy: actor.name };
      return { ...link, state: 'active', token, path: `/preview/${token}` };
    },

    async list(topic, itemId) {
      const at = now();
      const rows = await select()
        .where({ 'preview_links.topic': topic, 'preview_links.item_id': itemId })
        .orderBy('preview_links.id', 'desc')
        .limit(100);
      return rows.map((r) => toLink(r, at));
    },

    async revoke(topic, itemId, linkId, actor) {
      const at = now();
      await db.transaction(async (trx) => {
        const row = await trx('preview_links').where({ id: linkId, topic, item_id: itemId }).forUpdate().first();
        if (!row) throw new NotFoundError(`preview link ${linkId} of ${topic} ${itemId}`);
        // Revoking twice changes nothing and writes no second audit row.
        if (row.revoked_at != null) return;
        await trx('preview_links').where({ id: linkId }).update({ revoked_at: at, revoked_by: actor.id });
        await audit.record(trx, {
          action: 'preview_revoked',
          actor,
          target: `${topic}:${itemId}`,
          detail: { link: linkId },
        });
      });
      const [row] = await select().where('preview_links.id', linkId);
      return toLink(row, at);
    },

    async resolve(token) {
      if (!TOKEN.test(token)) return undefined;
      const row = await db('preview_links')
        .where({ token_hash: await hashOf(token) })
        .first();
      if (!row || row.revoked_at != null || Number(row.expires_at) <= now()) return undefined;
      return { topic: row.topic as PreviewTopic, itemId: Number(row.item_id), expiresAt: Number(row.expires_at) };
    },
  };
}
