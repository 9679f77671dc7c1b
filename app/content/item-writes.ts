// Row-level steps every content save shares (articles and events): id of an
// inserted row on both dialects, free slugs, tag links, and turning a lost
// uniqueness race into a 409 the client can retry.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { BadRequestError, ConflictError } from '../errors';
import { slugify } from './slug';

/** Inserts a row and returns its auto-increment id on both MariaDB and SQLite. */
export async function insertId(
  trx: Knex.Transaction | Database,
  table: string,
  row: Record<string, unknown>,
): Promise<number> {
  const [result] = await trx(table).insert(row);
  return Number(typeof result === 'object' && result !== null ? (result as { id: number }).id : result);
}

/** `base`, or `base-2`, `base-3`… whichever `table` does not use yet. */
export async function freeSlug(trx: Knex.Transaction, table: string, base: string, fallback: string): Promise<string> {
  const root = base === '' ? fallback : base;
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? root : `${root.slice(0, 110)}-${n}`;
    if (!(await trx(table).where({ slug: candidate }).first('id'))) return candidate;
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
export function translateUniqueViolation(error: unknown): never {
  const code = (error as { code?: string }).code;
  if (code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    throw new ConflictError('another save created the same slug or tag at the same moment; retry', 'slug');
  }
  throw error;
}
