// Event writes: like articles, the row(s) and an outbox row (topic 'event')
// in ONE transaction, so an acknowledged save always has a render owed.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { eventPath } from '../../common/site-paths';
import type { SaveOptions } from '../articles/articles-service';
import { freeSlug, insertId, setTags, translateUniqueViolation } from '../articles/item-writes';
import { sanitizeBody } from '../articles/sanitize';
import { slugify } from '../articles/slug';
import { ConflictError, NotFoundError } from '../errors';
import { BadRequestError } from '../errors';
import type { EventInput, EventStatus } from './event-input';
import { runSaveHooks } from '../db/idempotency';
import { oweRenders } from '../outbox/outbox';
import { LeadImage, leadImageChanges, leadImagesOf } from '../media/lead-image';

const EVENT_TAGS = { table: 'event_tags', column: 'event_id' } as const;

export interface Event {
  id: number;
  slug: string;
  title: string;
  summary: string;
  body: string;
  location: string;
  startsAt: string;
  endsAt: string | null;
  tags: string[];
  status: EventStatus;
  featured: boolean;
  leadImage: LeadImage | null;
  publishedAt: number | null;
  createdAt: number;
  updatedAt: number;
  url: string;
}

export interface EventSaveResult {
  id: number;
  slug: string;
  url: string;
}

export interface EventsService {
  create(input: EventInput, authorId: number | null, options?: SaveOptions): Promise<EventSaveResult>;
  update(id: number, input: EventInput, options?: SaveOptions): Promise<EventSaveResult>;
  get(id: number): Promise<Event>;
  list(options: { status?: EventStatus; limit: number; offset: number }): Promise<Event[]>;
}

export function createEventsService({
  db,
  now = Date.now,
  onSaved,
}: {
  db: Database;
  now?: () => number;
  onSaved?: () => void;
}): EventsService {
  return {
    async create(input, authorId, options) {
      const at = now();
      const result = await db
        .transaction(async (trx) => {
          let slug: string;
          if (input.slug !== undefined) {
            if (await trx('events').where({ slug: input.slug }).first('id'))
              throw new ConflictError(`slug "${input.slug}" is already taken`, 'slug');
            slug = input.slug;
          } else {
            slug = await freeSlug(trx, 'events', slugify(input.title ?? ''), 'event');
          }
          const status = input.status ?? 'draft';
          const lead = await leadImageChanges(trx, input);
          const id = await insertId(trx, 'events', {
            ...lead,
            slug,
            title: input.title,
            summary: input.summary ?? '',
            body: sanitizeBody(input.body ?? ''),
            location: input.location ?? '',
            starts_at: input.startsAt,
            ends_at: input.endsAt ?? null,
            author_id: authorId,
            status,
            featured: input.featured ?? false,
            published_at: status === 'published' ? at : null,
            created_at: at,
            updated_at: at,
          });
          if (input.tags) await setTags(trx, EVENT_TAGS, id, input.tags);
          await oweRenders(trx, [{ topic: 'event', itemId: id }], at);
          await options?.inTransaction?.(trx, id);
          const saved = { id, slug, url: eventPath(slug) };
          // Records the request's Idempotency-Key in this same transaction.
          await runSaveHooks(trx, saved);
          return saved;
        })
        .catch(translateUniqueViolation);
      onSaved?.();
      return result;
    },

    async update(id, input, options) {
      const at = now();
      const result = await db.transaction(async (trx) => {
        const current = await trx('events').where({ id }).forUpdate().first();
        if (!current) throw new NotFoundError(`event ${id}`);
        if (input.slug !== undefined && input.slug !== current.slug)
          throw new ConflictError('slugs are stable: an event keeps the slug it was created with', 'slug');
        const startsAt = input.startsAt ?? Number(current.starts_at);
        const endsAt =
          input.endsAt !== undefined ? input.endsAt : current.ends_at == null ? null : Number(current.ends_at);
        if (endsAt !== null && endsAt < startsAt)
          throw new BadRequestError('endsAt must not be before startsAt', 'endsAt');
        const changes: Record<string, unknown> = { updated_at: at, starts_at: startsAt, ends_at: endsAt };
        if (input.title !== undefined) changes.title = input.title;
        if (input.summary !== undefined) changes.summary = input.summary;
        if (input.body !== undefined) changes.body = sanitizeBody(input.body);
        if (input.location !== undefined) changes.location = input.location;
        if (input.featured !== undefined) changes.featured = input.featured;
        if (input.status !== undefined) {
          changes.status = input.status;
          if (input.status === 'published' && current.published_at == null) changes.published_at = at;
        }
        Object.assign(changes, await leadImageChanges(trx, input));
        await trx('events').where({ id }).update(changes);
        if (input.tags) await setTags(trx, EVENT_TAGS, id, input.tags);
        await oweRenders(trx, [{ topic: 'event', itemId: id }], at);
        await options?.inTransaction?.(trx, id);
        const saved = { id, slug: current.slug as string, url: eventPath(current.slug as string) };
        await runSaveHooks(trx, saved);
        return saved;
      });
      onSaved?.();
      return result;
    },

    get: (id) => readEvent(db, id),

    async list({ status, limit, offset }) {
      const query = db('events').orderBy('id', 'desc').limit(limit).offset(offset).select('*');
      if (status) query.where({ status });
      return withTags(db, await query);
    },
  };
}

/** One event, read through `db` (or a save's transaction, to see its own writes). */
export async function readEvent(db: Database | Knex.Transaction, id: number): Promise<Event> {
  const [row] = await withTags(db, await db('events').where({ id }).select('*'));
  if (!row) throw new NotFoundError(`event ${id}`);
  return row;
}

async function withTags(db: Database | Knex.Transaction, rows: Record<string, unknown>[]): Promise<Event[]> {
  const ids = rows.map((r) => Number(r.id));
  const tags = ids.length
    ? await db('event_tags')
        .join('tags', 'tags.id', 'event_tags.tag_id')
        .whereIn('event_tags.event_id', ids)
        .orderBy('tags.name')
        .select('event_tags.event_id', 'tags.name')
    : [];
  const leads = await leadImagesOf(db, rows);
  return rows.map((r, i) => ({
    id: Number(r.id),
    slug: r.slug as string,
    title: r.title as string,
    summary: r.summary as string,
    body: r.body as string,
    location: r.location as string,
    startsAt: new Date(Number(r.starts_at)).toISOString(),
    endsAt: r.ends_at == null ? null : new Date(Number(r.ends_at)).toISOString(),
    tags: tags.filter((t) => Number(t.event_id) === Number(r.id)).map((t) => t.name as string),
    status: r.status as EventStatus,
    featured: Boolean(r.featured),
    leadImage: leads[i],
    publishedAt: r.published_at == null ? null : Number(r.published_at),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    url: eventPath(r.slug as string),
  }));
}
