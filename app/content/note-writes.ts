// Adding a correction, update or desk note (app/content/item-notes.ts) is a
// save of the item through its editorial service, so the note commits with
// a revision (whose snapshot lists the notes) and the outbox row that
// re-renders the page.
import { runSaveHooks } from '../db/idempotency';
import { ConflictError } from '../errors';
import type { ItemNote, NoteInput } from './item-notes';
import type { EditorialService } from './item-revisions';
import { insertId } from './item-writes';

/**
 * Adds a note as a save of the item: the note, the revision and the owed
 * render commit together. A public note needs a published item (409 naming
 * `kind` otherwise). The note is the save's answer to an Idempotency-Key.
 */
export async function addNote(
  service: EditorialService,
  itemId: number,
  input: NoteInput,
  userId: number,
  now: () => number,
): Promise<ItemNote> {
  const { kind } = service;
  const item = await service.get(itemId);
  if (input.kind !== 'desk' && item.status !== 'published')
    throw new ConflictError(
      `${input.kind} notes go on published items; this ${kind.name} is ${item.status} (a desk note may go on any)`,
      'kind',
    );
  let note: ItemNote | undefined;
  await service.update(
    itemId,
    {},
    {
      actor: { userId, action: 'note', reason: `${input.kind} note added` },
      inTransaction: async (trx) => {
        const at = input.at ?? now();
        const id = await insertId(trx, 'item_notes', {
          topic: kind.name,
          item_id: itemId,
          kind: input.kind,
          body: input.text,
          noted_at: at,
          created_by: userId,
        });
        const user = await trx('users').where({ id: userId }).first('name');
        note = { id, kind: input.kind, text: input.text, at, author: (user?.name as string | undefined) ?? null };
        // The note, not the item's save result, is what a retried request is answered with (app/db/idempotency.ts).
        await runSaveHooks(trx, note);
      },
    },
  );
  return note!;
}
