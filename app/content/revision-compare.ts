// The comparisons the history offers (issue 16): a revision against the one
// before it (what that save changed) or against the item as it is now, and
// what restoring a revision would change, before anyone confirms it. The
// differences themselves are worked out by app/content/revision-diff.ts.
import { BadRequestError } from '../errors';
import type { ItemSnapshot } from './item-kind';
import type { EditorialService, Revision } from './item-revisions';
import { diffSnapshots, SnapshotDiff } from './revision-diff';

export const COMPARISONS = ['previous', 'current'] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** ?against=previous (the default) or current; anything else is a 400 naming the parameter. */
export function parseComparison(raw: unknown): Comparison {
  if (raw === undefined || raw === '') return 'previous';
  if (!COMPARISONS.includes(raw as Comparison))
    throw new BadRequestError(`against must be one of ${COMPARISONS.join(', ')}`, 'against');
  return raw as Comparison;
}

/** One side of a comparison: a revision by its number, or the item as it is now. */
export interface ComparedSide {
  number: number | null;
  label: string;
}

export interface RevisionComparison extends SnapshotDiff {
  revision: Revision;
  against: Comparison;
  from: ComparedSide;
  to: ComparedSide;
}

const sideOf = (revision: Revision | undefined): ComparedSide =>
  revision
    ? { number: revision.number, label: `revision ${revision.number} (${revision.label})` }
    : { number: null, label: 'nothing (the first revision)' };
const NOW: ComparedSide = { number: null, label: 'the current version' };

/** Revision `number` of item `id` against its predecessor (from it to the revision) or the item now (from the revision to now). */
export async function compareRevision(
  items: EditorialService,
  id: number,
  number: number,
  against: Comparison,
): Promise<RevisionComparison> {
  const revision = await items.revision(id, number);
  if (against === 'previous') {
    const previous = await items.previousRevision(id, number);
    const diff = diffSnapshots(snapshotRecord(previous?.snapshot), snapshotRecord(revision.snapshot));
    return { ...diff, revision, against, from: sideOf(previous), to: sideOf(revision) };
  }
  const current = await items.currentSnapshot(id);
  const diff = diffSnapshots(snapshotRecord(revision.snapshot), snapshotRecord(current));
  return { ...diff, revision, against, from: sideOf(revision), to: NOW };
}

export interface RestorePreview extends SnapshotDiff {
  revision: Revision;
  from: ComparedSide;
  to: ComparedSide;
  /** The status the item has now and will have after the restore (a restore brings back the revision's status). */
  statusNow: string;
  statusAfter: string;
  /** Public as soon as it is confirmed: the restored status is published. */
  goesLive: boolean;
  /** Taken off the public site: published now, not after. */
  takesDown: boolean;
}

/** What restoring revision `number` would change: from the item now to the revision. */
export async function restorePreview(items: EditorialService, id: number, number: number): Promise<RestorePreview> {
  const revision = await items.revision(id, number);
  const current = await items.currentSnapshot(id);
  const diff = diffSnapshots(snapshotRecord(current), snapshotRecord(revision.snapshot));
  const statusNow = current.status;
  const statusAfter = revision.snapshot.status;
  return {
    ...diff,
    revision,
    from: NOW,
    to: sideOf(revision),
    statusNow,
    statusAfter,
    goesLive: statusAfter === 'published',
    takesDown: statusNow === 'published' && statusAfter !== 'published',
  };
}

function snapshotRecord(snapshot: ItemSnapshot | undefined): Record<string, unknown> {
  return (snapshot ?? {}) as unknown as Record<string, unknown>;
}
