// What a save does to an item's schedule (docs/api.md, "Scheduling"), and
// what a due scheduled change does to its row. Pure: the stored row, the
// input and the clock in, the columns to write out (or a 4xx naming the
// field, before anything is written).
import type { ItemInput } from '../content/item-input';
import type { Row } from '../content/item-kind';
import { BadRequestError, ConflictError, HyperstaticError } from '../errors';

export type ScheduleColumn = 'publish_at' | 'unpublish_at';

/** A scheduled change the scheduler applies: only while `column` still holds an instant at or before `now`. */
export interface DueChange {
  column: ScheduleColumn;
  now: number;
}

/** The row no longer holds a due change (applied by another process, cancelled or moved): nothing to do. */
export class NotDueError extends HyperstaticError {
  constructor() {
    super('HS_NOT_DUE', 409, 'the scheduled change is no longer due');
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The schedule columns a save writes. `current` is the locked row (null for
 * a new item); `at` the save's clock. Publishing now (status published, no
 * publishAt) replaces a pending publication; a published item cannot be
 * scheduled to publish again until it is unpublished.
 */
export function scheduleChanges(current: Row | null, input: ItemInput, at: number): Row {
  const changes: Row = {};
  const status = input.status ?? (current?.status as string | undefined) ?? 'draft';
  if (input.publishAt != null) {
    if (input.publishAt <= at)
      throw new BadRequestError(
        `publishAt ${iso(input.publishAt)} is not in the future: publish now with status "published", or back-date with publishedAt`,
        'publishAt',
      );
    if (status === 'published')
      throw new ConflictError('publishAt: the item is already published; unpublish it before scheduling', 'publishAt');
    changes.publish_at = input.publishAt;
  } else if (input.publishAt === null || input.status === 'published') {
    changes.publish_at = null;
  }
  if (input.unpublishAt != null) {
    if (input.unpublishAt <= at)
      throw new BadRequestError(`unpublishAt ${iso(input.unpublishAt)} is not in the future`, 'unpublishAt');
    changes.unpublish_at = input.unpublishAt;
  } else if (input.unpublishAt === null) {
    changes.unpublish_at = null;
  }
  const publishAt = 'publish_at' in changes ? changes.publish_at : (current?.publish_at ?? null);
  const unpublishAt = 'unpublish_at' in changes ? changes.unpublish_at : (current?.unpublish_at ?? null);
  if (publishAt != null && unpublishAt != null && Number(unpublishAt) <= Number(publishAt))
    throw new BadRequestError(
      `unpublishAt ${iso(Number(unpublishAt))} must be after publishAt ${iso(Number(publishAt))}`,
      'unpublishAt',
    );
  if (input.publishedAt !== undefined) {
    if (input.publishedAt > at)
      throw new BadRequestError(
        'publishedAt is in the future: schedule a publication with publishAt instead',
        'publishedAt',
      );
    changes.published_at = input.publishedAt;
  }
  return changes;
}

/**
 * The columns a due change writes, or NotDueError. The column is cleared in
 * the same transaction, so a second run (another process, a job fired again
 * after a restart or a Redis loss) finds nothing due. A publication applies
 * to a draft (a moderator's hide wins); its instant becomes the first
 * publication date unless one was set. A take-down applies to a published item.
 */
export function dueChanges(current: Row, due: DueChange): Row {
  const value = current[due.column];
  if (value == null || Number(value) > due.now) throw new NotDueError();
  if (due.column === 'publish_at') {
    if (current.status !== 'draft') return { publish_at: null };
    return { status: 'published', publish_at: null, published_at: current.published_at ?? Number(value) };
  }
  return current.status === 'published' ? { status: 'draft', unpublish_at: null } : { unpublish_at: null };
}
