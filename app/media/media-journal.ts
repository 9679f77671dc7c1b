// Media is distributed like pages: each file gets a change-journal entry of
// kind 'media' naming its sha256, and mirrors fetch it from /blobs/:sha256.
// A file is journaled once a visible item shows it (app/media/shown-media.ts),
// never at upload: an upload for an embargoed story stays off the mirrors.
// Unlike rendered pages the bytes stay in the media folder (files up to
// hundreds of MB do not belong in a database row), so this appends the
// entries directly, under the same cluster_state row lock writeBatch
// (producer/change-journal.ts) takes: sequence order stays commit order.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';

export interface MediaEntry {
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  lastModified: number;
}

/** Appends one batch; returns the new journal head, or undefined when every path was already live with that hash. */
export async function journalMedia(db: Database, entries: MediaEntry[], now: number): Promise<number | undefined> {
  return db.transaction((trx) => appendMedia(trx, entries, now));
}

/** journalMedia inside the caller's transaction (a save that makes an item visible). */
export async function appendMedia(
  trx: Knex.Transaction,
  entries: MediaEntry[],
  now: number,
): Promise<number | undefined> {
  const state = await trx('cluster_state').where({ id: 1 }).forUpdate().first('epoch', 'journal_head');
  const epoch = Number(state.epoch);
  let head = Number(state.journal_head);
  const batch = head + 1;
  let written = 0;
  for (const entry of entries) {
    const live = await trx('pages').where({ path: entry.path }).first('op', 'sha256');
    if (live && live.op === 'put' && live.sha256 === entry.sha256) continue;
    head += 1;
    written += 1;
    const row = {
      path: entry.path,
      op: 'put',
      sha256: entry.sha256,
      size: entry.size,
      content_type: entry.contentType,
      kind: 'media',
      last_modified: entry.lastModified,
    };
    await trx('pages')
      .insert({ ...row, seq: head })
      .onConflict('path')
      .merge();
    await trx('journal').insert({ ...row, seq: head, epoch, batch, created_at: now });
  }
  if (written === 0) return undefined;
  // Uploaded again after a takedown purged it: the file is public again (producer/takedown.ts).
  await trx('purged_blobs')
    .whereIn(
      'sha256',
      entries.map((e) => e.sha256),
    )
    .delete();
  await trx('cluster_state').where({ id: 1 }).update({ journal_head: head });
  return head;
}
