// Row-level steps every content save shares (articles and events): id of an
// inserted row on both dialects, free slugs, tag links, running a save again
// when MariaDB chose it as a deadlock victim, and turning a lost uniqueness
// race into a 409 the client can retry.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { restoreSaveHooks } from '../db/idempotency';
import { BadRequestError, ConflictError } from '../errors';
import { slugify } from './slug';
import { slugHolder } from './slug-redirects';
import type { ItemKind } from './item-kind';

/** Inserts a row and returns its auto-increment id on both MariaDB and SQLite. */
export async function insertId(
  trx: Knex.Transaction | Database,
  table: string,
  row: Record<string, unknown>,
): Promise<number> {
  const [result] = await trx(table).insert(row);
  return Number(typeof result === 'object' && result !== null ? (result as { id: number }).id : result);
}

/** `base`, or `base-2`, `base-3`… whichever no item of `kind` holds yet, as its slug or a former one (a redirect). */
export async function freeSlug(
  trx: Knex.Transaction,
  kind: { name: ItemKind['name']; plural: string },
  base: string,
  fallback: string,
): Promise<string> {
  const root = base === '' ? fallback : base;
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? root : `${root.slice(0, 110)}-${n}`;
    if (!(await slugHolder(trx, kind, candidate))) return candidate;
  }
}

/** Replaces an item's tags by name, creating tags that do not exist yet. */
export async function setTags(
  trx: Knex.Transaction,
  link: { table: string; column: string },
  itemId: number,
  names: string[],
  options: { created?: boolean } = {},
): Promise<void> {
  const ids: number[] = [];
  for (const name of names) {
    const slug = slugify(name, 64);
    if (slug === '') throw new BadRequestError(`tag ${JSON.stringify(name)} has no letters or digits`, 'tags');
    const existing = await trx('tags').where({ slug }).first('id');
    ids.push(existing ? (existing.id as number) : await insertId(trx, 'tags', { slug, name }));
  }
  // An item created in this transaction has no links to replace. Deleting them anyway took a gap lock at the
  // end of the link table (InnoDB, REPEATABLE READ) that every concurrent new item's insert waited on: 16
  // writers deadlocked and were answered 500 (test/integration/concurrent-tagged-saves.test.ts).
  if (!options.created)
    await trx(link.table)
      .where({ [link.column]: itemId })
      .delete();
  const unique = [...new Set(ids)];
  if (unique.length > 0) await trx(link.table).insert(unique.map((tag_id) => ({ [link.column]: itemId, tag_id })));
}

/** A concurrent save took the same new slug or tag between our check and our insert. */
const SAVE_ATTEMPTS = 4;

/**
 * Runs a save's transaction, again from the start when it lost a race that a
 * fresh attempt wins: InnoDB picked it as a deadlock victim (ER_LOCK_DEADLOCK:
 * concurrent saves touching the same tag links, as a burst of tagged articles
 * does; the burst bench answered them 500), or a concurrent save created the
 * same new tag or slug first (the next attempt sees it and reuses or skips
 * it). Nothing of a rolled-back attempt remains, so running it again is safe;
 * an explicit slug that is taken still fails with 409 on the next attempt.
 */
export async function saveTransaction<T>(db: Database, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= SAVE_ATTEMPTS || !retryable(error)) throw error;
      restoreSaveHooks();
    }
  }
}

function retryable(error: unknown): boolean {
  const { code, sqlMessage } = error as { code?: string; sqlMessage?: string };
  if (code === 'ER_LOCK_DEADLOCK') return true;
  // A primary key clash is not a race a retry wins (an idempotency key another request stored: idempotency.ts answers it).
  return code === 'ER_DUP_ENTRY' && !/for key '(?:\w+\.)?PRIMARY'/.test(sqlMessage ?? '');
}

export function translateUniqueViolation(error: unknown): never {
  const code = (error as { code?: string }).code;
  if (code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    throw new ConflictError('another save created the same slug or tag at the same moment; retry', 'slug');
  }
  throw error;
}
