// One declaration per kind of item (app/articles/article-kind.ts,
// app/events/event-kind.ts): what the shared save, read, revision,
// moderation and HTTP code needs to know about a kind. Everything else
// (slugs, sanitizing, tags, lead images, the outbox row, idempotency,
// history) is written once, in app/content/.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import type { RenderJob } from '../../common/queue/render-queue';
import type { LeadImage } from '../media/lead-image';
import type { InputMode, ItemInput, StoredStatus } from './item-input';

export type Reader = Database | Knex.Transaction;
export type Row = Record<string, unknown>;

/** What every kind's reads return. */
export interface Item {
  id: number;
  slug: string;
  title: string;
  summary: string;
  body: string;
  tags: string[];
  /** Login names of its authors, in byline order (app/auth/people.ts). */
  authors: string[];
  status: StoredStatus;
  featured: boolean;
  leadImage: LeadImage | null;
  publishedAt: number | null;
  /** Scheduled publication (epoch ms), null when none is pending. */
  publishAt: number | null;
  /** Scheduled take-down (epoch ms), null when none is pending. */
  unpublishAt: number | null;
  createdAt: number;
  updatedAt: number;
  url: string;
}

/** What every kind's revisions record. */
export interface ItemSnapshot extends Pick<Item, 'title' | 'summary' | 'body' | 'tags' | 'status' | 'featured'> {
  /** The item's slug at this revision; absent in revisions recorded before slugs could change. Restoring keeps the current one. */
  slug?: string;
  /** Absent in revisions recorded before lead images existed: restored as "no lead image". */
  leadImage?: string | null;
  leadImageAlt?: string;
}

/** What a moderator sees of a submitted item. */
export interface ModeratedItem {
  id: number;
  title: string;
  summary: string;
  body: string;
  status: string;
  featured: boolean;
  tags: string[];
  url: string;
  startsAt?: string;
  location?: string;
}

export interface ItemKind<
  I extends ItemInput = ItemInput,
  T extends Item = Item,
  S extends ItemSnapshot = ItemSnapshot,
> {
  /** Outbox topic, revision and submission item type, and the noun in messages: "article". */
  name: RenderJob['topic'];
  /** Table, URL segment (/api/articles, /editor/articles) and JSON list key: "articles". */
  plural: string;
  /** The noun with its article, for messages: "an article". */
  aName: string;
  /** The table linking items to tags, and its item column. */
  tagLink: { table: string; column: string };
  /** The item's public page. */
  path(slug: string): string;
  parseInput(raw: unknown, mode: InputMode): I;
  /** The kind's own columns of a new row (checked inside the save's transaction). */
  createColumns(trx: Knex.Transaction, input: I): Promise<Row>;
  /** The kind's own columns an update changes on `current`; may refuse the result. */
  updateColumns(trx: Knex.Transaction, input: I, current: Row): Promise<Row>;
  /** The rows `toItem` reads, with the kind's joins. */
  select(db: Reader): Knex.QueryBuilder;
  toItem(row: Row, tags: string[], leadImage: LeadImage | null, authors: string[]): T;
  /** The kind's own fields of a revision snapshot (the shared ones are recorded for every kind). */
  ownSnapshot(item: T): Omit<S, keyof ItemSnapshot>;
  /** The kind's own input fields restoring `snapshot`, or undefined when it holds no content to restore. */
  restoreFields(db: Database, snapshot: S): Promise<Partial<I> | undefined>;
  /** The fields an anonymous submitter may set (strangers choose words, not placement). */
  submissionFields: readonly string[];
  /** What the moderation queue shows of an item. */
  moderated(item: T): ModeratedItem;
}

/** The fields every kind reads the same way from its row; a kind's `toItem` adds its own. */
export function sharedItemFields(
  r: Row,
  tags: string[],
  leadImage: LeadImage | null,
  authors: string[],
  path: (slug: string) => string,
) {
  return {
    id: Number(r.id),
    slug: r.slug as string,
    title: r.title as string,
    summary: r.summary as string,
    body: r.body as string,
    tags,
    authors,
    status: r.status as StoredStatus,
    featured: Boolean(r.featured),
    leadImage,
    publishedAt: r.published_at == null ? null : Number(r.published_at),
    publishAt: r.publish_at == null ? null : Number(r.publish_at),
    unpublishAt: r.unpublish_at == null ? null : Number(r.unpublish_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    url: path(r.slug as string),
  };
}
