// Validation of event writes from the API: the shared item fields
// (app/content/item-input.ts) plus where and when. Pure, so every rule is
// unit tested with plain data.
import { InputMode, ItemInput, parseItemInput, StoredStatus, text } from '../content/item-input';
import { parseDateTime } from '../content/date-time';
import { BadRequestError } from '../errors';

export { parseDateTime };

export type EventStatus = StoredStatus;

export interface EventInput extends ItemInput {
  location?: string;
  startsAt?: number;
  endsAt?: number | null;
}

const LOCATION_MAX = 300;

/** Checks a JSON body for POST (title, body, startsAt required) or PUT (every field optional). */
export function parseEventInput(raw: unknown, mode: InputMode): EventInput {
  return parseItemInput<EventInput>(raw, mode, {
    fields: ['location', 'startsAt', 'endsAt'],
    slugExample: 'open-day',
    own(body, input) {
      if (body.location !== undefined) input.location = text(body.location, 'location', LOCATION_MAX).trim();
      if (body.startsAt !== undefined || mode === 'create') input.startsAt = parseDateTime(body.startsAt, 'startsAt');
      if (body.endsAt !== undefined) input.endsAt = body.endsAt === null ? null : parseDateTime(body.endsAt, 'endsAt');
      if (input.startsAt !== undefined && input.endsAt != null && input.endsAt < input.startsAt) {
        throw new BadRequestError('endsAt must not be before startsAt', 'endsAt');
      }
    },
  });
}
