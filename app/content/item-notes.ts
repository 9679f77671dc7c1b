// Corrections and updates (docs/api.md, "Corrections and updates"): notes
// on an article or event, each with its kind, text and time. `correction`
// and `update` notes are public: they go on a published item only, render on
// its page (producer/templates/_macros.njk, itemNotes), set its dateModified
// and its feeds' updated time. `desk` notes are for the newsroom on any
// item, and the producer never reads them (producer/item-rows.ts reads
// public kinds only). Notes are append-only; adding one is a save of the
// item (app/content/note-writes.ts).
import type { Knex } from 'knex';
import { BadRequestError } from '../errors';
import { parseDateTime } from './date-time';
import { jsonObject, text } from './item-input';
import type { ItemKind } from './item-kind';

export const NOTE_KINDS = ['correction', 'update', 'desk'] as const;
export type NoteKind = (typeof NOTE_KINDS)[number];
export const PUBLIC_NOTE_KINDS: readonly NoteKind[] = ['correction', 'update'];
export const NOTE_TEXT_MAX = 2000;

export interface NoteInput {
  kind: NoteKind;
  text: string;
  /** When it was noted (epoch ms); the save's time when not given. */
  at?: number;
}

export interface ItemNote {
  id: number;
  kind: NoteKind;
  text: string;
  at: number;
  author: string | null;
}

type Reader = Knex | Knex.Transaction;

/** A note from a JSON body or a form: kind, text and an optional RFC 3339 `at` not in the future; 400 naming the field. */
export function parseNoteInput(raw: unknown, now: number): NoteInput {
  const body = jsonObject(raw);
  const unknown = Object.keys(body).filter((k) => !['kind', 'text', 'at'].includes(k));
  if (unknown.length > 0) throw new BadRequestError(`unknown field: ${unknown[0]}`, unknown[0]);
  if (!NOTE_KINDS.includes(body.kind as NoteKind))
    throw new BadRequestError(`kind must be one of ${NOTE_KINDS.join(', ')}`, 'kind');
  const note = text(body.text, 'text', NOTE_TEXT_MAX, { lines: 'multi' }).trim();
  if (note === '') throw new BadRequestError('text must not be empty', 'text');
  const input: NoteInput = { kind: body.kind as NoteKind, text: note };
  if (body.at !== undefined && body.at !== '') {
    input.at = parseDateTime(body.at, 'at');
    if (input.at > now) throw new BadRequestError('at must not be in the future', 'at');
  }
  return input;
}

/** An item's notes, oldest first; `publicOnly` leaves desk notes out. */
export async function notesOf(
  db: Reader,
  topic: ItemKind['name'],
  itemId: number,
  options: { publicOnly?: boolean } = {},
): Promise<ItemNote[]> {
  const query = db('item_notes')
    .leftJoin('users', 'users.id', 'item_notes.created_by')
    .where({ 'item_notes.topic': topic, 'item_notes.item_id': itemId })
    .orderBy(['item_notes.noted_at', 'item_notes.id'])
    .select('item_notes.*', 'users.name as author_name');
  if (options.publicOnly) query.whereIn('item_notes.kind', PUBLIC_NOTE_KINDS);
  return (await query).map((r) => ({
    id: Number(r.id),
    kind: r.kind as NoteKind,
    text: String(r.body),
    at: Number(r.noted_at),
    author: (r.author_name as string | null) ?? null,
  }));
}
