// What changed between two snapshots of an item (issue 16): its fields one
// by one, and its body as paragraphs with the changed words marked, for
// the history's diff view and the restore confirmation. Pure: snapshots in,
// differences out.
//
// The body is compared paragraph by paragraph first, then word by word
// inside a paragraph that was rewritten, so a long article with one changed
// sentence shows that sentence, not a scramble of words matched across the
// page. The comparison is jsdiff's (Myers' algorithm), bounded by
// MAX_EDIT_LENGTH, beyond which a stretch shows as removed then added.
import { diffArrays } from 'diff';

export type DiffOp = 'same' | 'added' | 'removed';

export interface DiffPiece {
  op: DiffOp;
  text: string;
}

export interface ParagraphDiff {
  /** same: unchanged; changed: rewritten (pieces mark the words); added / removed: the whole paragraph. */
  op: 'same' | 'changed' | 'added' | 'removed';
  pieces: DiffPiece[];
}

export interface FieldDiff {
  field: string;
  changed: boolean;
  before: string;
  after: string;
  /** Word by word, for text fields. */
  pieces?: DiffPiece[];
}

export interface SnapshotDiff {
  fields: FieldDiff[];
  body: ParagraphDiff[];
  /** Whether anything at all differs. */
  changed: boolean;
  /** Whether the body differs. */
  bodyChanged: boolean;
  /** The fields that are the same on both sides. */
  unchanged: string[];
}

/** The most removals and additions one comparison looks for; a stretch past it is shown as replaced whole. */
export const MAX_EDIT_LENGTH = 5_000;

/** Fields every snapshot has, in the order a person reads them; a kind's own fields follow. */
const SHARED_FIELDS = ['title', 'summary', 'status', 'featured', 'tags', 'leadImage', 'leadImageAlt'];
const TEXT_FIELDS = new Set(['title', 'summary', 'leadImageAlt', 'location']);
/**
 * Compared elsewhere (the body) or not part of what a restore changes: notes stay with the item, and
 * a restore keeps the item's current address (moving it is an edit of its own, with redirects).
 */
const NOT_FIELDS = new Set(['body', 'notes', 'slug']);

/** The shortest edit script turning `a` into `b`, as runs of equal, removed and added elements. */
export function diffSequences<T>(a: readonly T[], b: readonly T[]): { op: DiffOp; items: T[] }[] {
  const changes = diffArrays([...a], [...b], { maxEditLength: MAX_EDIT_LENGTH });
  if (changes === undefined) {
    // Too different to be worth a search: the common ends, and everything between replaced.
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    let end = 0;
    while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
    const runs = [
      { op: 'same' as const, items: a.slice(0, start) },
      { op: 'removed' as const, items: a.slice(start, a.length - end) },
      { op: 'added' as const, items: b.slice(start, b.length - end) },
      { op: 'same' as const, items: a.slice(a.length - end) },
    ];
    return runs.filter((run) => run.items.length > 0);
  }
  const runs: { op: DiffOp; items: T[] }[] = [];
  for (const change of changes) {
    const op: DiffOp = change.added ? 'added' : change.removed ? 'removed' : 'same';
    const last = runs[runs.length - 1];
    if (last?.op === op) last.items.push(...change.value);
    else runs.push({ op, items: [...change.value] });
  }
  return runs;
}

/** Words and the spaces between them, so joining the pieces gives the text back. */
function words(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

/**
 * `before` and `after` word by word. A change reads as one removed phrase
 * then one added phrase: a lone space the two happen to share between
 * changed words joins the change, rather than cutting "at the pier" →
 * "online only" into two alternating pairs.
 */
export function diffWords(before: string, after: string): DiffPiece[] {
  const runs = diffSequences(words(before), words(after)).map(({ op, items }) => ({ op, text: items.join('') }));
  const pieces: DiffPiece[] = [];
  let removed = '';
  let added = '';
  const flush = () => {
    if (removed) pieces.push({ op: 'removed', text: removed });
    if (added) pieces.push({ op: 'added', text: added });
    removed = added = '';
  };
  runs.forEach((run, k) => {
    const inChange = (removed || added) && k + 1 < runs.length && /^\s+$/.test(run.text);
    if (run.op === 'removed' || inChange) removed += run.text;
    if (run.op === 'added' || inChange) added += run.text;
    if (run.op === 'same' && !inChange) {
      flush();
      pieces.push(run);
    }
  });
  flush();
  return pieces;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** A sanitized body as the text of its paragraphs (headings, list items and quotes are paragraphs too). */
export function bodyParagraphs(html: string): string[] {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|h[1-6]|li|blockquote|figcaption|pre|div|tr)>/gi, '\n')
    .replace(/<(img)\b[^>]*\balt="([^"]*)"[^>]*>/gi, ' [image: $2] ')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
      if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole;
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
    })
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '');
}

/** Two bodies paragraph by paragraph; a paragraph replaced by one other is compared word by word. */
export function diffBodies(before: string, after: string): ParagraphDiff[] {
  const out: ParagraphDiff[] = [];
  const runs = diffSequences(bodyParagraphs(before), bodyParagraphs(after));
  for (let k = 0; k < runs.length; k++) {
    const run = runs[k];
    const next = runs[k + 1];
    if (run.op === 'removed' && next?.op === 'added') {
      // Rewritten paragraphs pair up in order; what is left over was removed or added whole.
      const pairs = Math.min(run.items.length, next.items.length);
      for (let p = 0; p < pairs; p++) out.push({ op: 'changed', pieces: diffWords(run.items[p], next.items[p]) });
      for (const text of run.items.slice(pairs)) out.push({ op: 'removed', pieces: [{ op: 'removed', text }] });
      for (const text of next.items.slice(pairs)) out.push({ op: 'added', pieces: [{ op: 'added', text }] });
      k++;
      continue;
    }
    for (const text of run.items) out.push({ op: run.op, pieces: [{ op: run.op, text }] });
  }
  return out;
}

/** A field's value as a person reads it. */
function shown(value: unknown): string {
  if (value === null || value === undefined || value === '') return '';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number' && value > 1e11)
    return new Date(value).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return String(value);
}

/** What differs from snapshot `before` to snapshot `after` (an item kind's own fields included). */
export function diffSnapshots(before: Record<string, unknown>, after: Record<string, unknown>): SnapshotDiff {
  const own = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (key) => !SHARED_FIELDS.includes(key) && !NOT_FIELDS.has(key),
  );
  const fields = [...SHARED_FIELDS, ...own.sort()].map((field): FieldDiff => {
    const was = shown(before[field]);
    const now = shown(after[field]);
    const diff: FieldDiff = { field, changed: was !== now, before: was, after: now };
    if (diff.changed && TEXT_FIELDS.has(field)) diff.pieces = diffWords(was, now);
    return diff;
  });
  const body = diffBodies(String(before.body ?? ''), String(after.body ?? ''));
  const bodyChanged = body.some((p) => p.op !== 'same');
  const unchanged = fields.filter((f) => !f.changed).map((f) => f.field);
  return { fields, body, changed: bodyChanged || unchanged.length < fields.length, bodyChanged, unchanged };
}
