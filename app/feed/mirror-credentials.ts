// Who may report a mirror's status (`POST /mirror-status`). The origin's
// operator issues each mirror its own name and token (`hyperstatic mirror
// credentials add NAME`); only the token's sha256 is stored, so a database
// dump does not let anyone report. A token only reports as its own name, and
// revoking it shuts that one mirror out. The older shared MIRROR_STATUS_TOKEN
// still works (any name) until the operator drops it.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../common/db/database';
import { sha256Hex } from '../../common/hash';
import { ForbiddenError } from '../auth/auth-errors';
import { tokensMatch } from '../auth/sessions';
import { BadRequestError, ConflictError, NotFoundError, UnauthorizedError } from '../errors';

export interface MirrorCredential {
  name: string;
  createdAt: number;
  revokedAt: number | null;
}

const TOKEN = /^hsm_[A-Za-z0-9_-]{32}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Issues a token for mirror `name`; the token is shown once and only its hash is kept. */
export async function addMirrorCredential(db: Database, name: string, now = Date.now()): Promise<string> {
  if (!NAME.test(name))
    throw new BadRequestError(
      'a mirror name is 1-200 letters, digits, dots, dashes or underscores, starting with a letter or digit',
      'name',
    );
  const existing = await db('mirror_credentials').where({ name }).first('revoked_at');
  if (existing && existing.revoked_at === null)
    throw new ConflictError(`mirror ${name} already has a token; revoke it first to issue a new one`, 'name');
  const token = `hsm_${randomBytes(24).toString('base64url')}`;
  const row = { name, token_hash: sha256Hex(token), created_at: now, revoked_at: null };
  await db('mirror_credentials').insert(row).onConflict('name').merge();
  return token;
}

export async function revokeMirrorCredential(db: Database, name: string, now = Date.now()): Promise<void> {
  const changed = await db('mirror_credentials').where({ name }).whereNull('revoked_at').update({ revoked_at: now });
  if (changed === 0) throw new NotFoundError(`an active token for mirror ${name}`);
}

export async function listMirrorCredentials(db: Database): Promise<MirrorCredential[]> {
  const rows = (await db('mirror_credentials').orderBy('name').select('name', 'created_at', 'revoked_at')) as Record<
    string,
    unknown
  >[];
  return rows.map((r) => ({
    name: r.name as string,
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  }));
}

/**
 * Decides whether this request may report the status of mirror `name`:
 * its own token (and only for its own name), or the shared legacy token.
 * With neither credentials issued nor a shared token set, reports are open
 * (the embedded quick start); once any credential was issued (even if since
 * revoked), a token is required.
 */
export async function authorizeStatusReport(
  db: Database,
  authorization: string | undefined,
  name: string,
  sharedToken: string,
): Promise<void> {
  const header = authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  if (given !== '' && TOKEN.test(given)) {
    const row = await db('mirror_credentials')
      .where({ token_hash: sha256Hex(given) })
      .whereNull('revoked_at')
      .first('name');
    if (!row)
      throw new UnauthorizedError(
        'this mirror token is unknown or revoked; ask the origin operator for a new one (hyperstatic mirror credentials add NAME)',
      );
    if (row.name !== name)
      throw new ForbiddenError(`this token belongs to mirror ${String(row.name)}; it cannot report as ${name}`);
    return;
  }
  // Compared as hashes: equal lengths whatever bytes the header carried (tokensMatch compares UTF-16 lengths).
  if (sharedToken !== '' && tokensMatch(sha256Hex(sharedToken), sha256Hex(given))) return;
  // Any token ever issued, revoked ones too: revoking a leaked token must not reopen anonymous reporting.
  const issued = await db('mirror_credentials').first('name');
  if (sharedToken === '' && !issued) return;
  throw new UnauthorizedError(
    'mirror status reports need Authorization: Bearer TOKEN, the token issued to this mirror (MIRROR_STATUS_TOKEN on the mirror)',
  );
}
