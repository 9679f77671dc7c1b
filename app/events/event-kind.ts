// Events, declared for the shared content model (app/content/item-kind.ts):
// an item with a place and a time. Instants are stored as epoch
// milliseconds and read and written as RFC 3339 strings.
import type { Database } from '../../common/db/database';
import { eventPath } from '../../common/site-paths';
import { Item, ItemKind, ItemSnapshot, Reader, Row, sharedItemFields } from '../content/item-kind';
import { createItemService, ItemService, ItemServiceDeps } from '../content/item-service';
import { BadRequestError } from '../errors';
import type { LeadImage } from '../media/lead-image';
import { EventInput, EventStatus, parseEventInput } from './event-input';

export interface Event extends Item {
  location: string;
  startsAt: string;
  endsAt: string | null;
  status: EventStatus;
}

export interface EventSnapshot extends ItemSnapshot {
  location: string;
  /** RFC 3339, as the API reads and writes them. */
  startsAt: string;
  endsAt: string | null;
}

export type EventsService = ItemService<EventInput, Event>;

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();

export const EVENTS: ItemKind<EventInput, Event, EventSnapshot> = {
  name: 'event',
  plural: 'events',
  aName: 'an event',
  tagLink: { table: 'event_tags', column: 'event_id' },
  path: eventPath,
  parseInput: parseEventInput,
  async createColumns(_trx, input) {
    return { location: input.location ?? '', starts_at: input.startsAt, ends_at: input.endsAt ?? null };
  },
  // An update may move either end: the pair is checked as it will be stored.
  async updateColumns(_trx, input, current) {
    const startsAt = input.startsAt ?? Number(current.starts_at);
    const endsAt = input.endsAt !== undefined ? input.endsAt : current.ends_at == null ? null : Number(current.ends_at);
    if (endsAt !== null && endsAt < startsAt) throw new BadRequestError('endsAt must not be before startsAt', 'endsAt');
    const changes: Row = { starts_at: startsAt, ends_at: endsAt };
    if (input.location !== undefined) changes.location = input.location;
    return changes;
  },
  select: (db: Reader) => db('events').select('events.*'),
  toItem: (r: Row, tags: string[], leadImage: LeadImage | null, authors: string[]) => ({
    ...sharedItemFields(r, tags, leadImage, authors, eventPath),
    location: r.location as string,
    startsAt: iso(r.starts_at),
    endsAt: r.ends_at == null ? null : iso(r.ends_at),
  }),
  ownSnapshot: ({ location, startsAt, endsAt }) => ({ location, startsAt, endsAt }),
  async restoreFields(_db: Database, snapshot) {
    if (typeof snapshot.startsAt !== 'string') return undefined;
    return {
      location: snapshot.location,
      startsAt: Date.parse(snapshot.startsAt),
      endsAt: snapshot.endsAt === null ? null : Date.parse(snapshot.endsAt),
    };
  },
  submissionFields: ['title', 'summary', 'body', 'tags', 'location', 'startsAt', 'endsAt'],
  moderated: (e) => ({
    id: e.id,
    title: e.title,
    summary: e.summary,
    body: e.body,
    status: e.status,
    featured: e.featured,
    tags: e.tags,
    url: e.url,
    startsAt: e.startsAt,
    location: e.location,
  }),
};

export function createEventsService(deps: ItemServiceDeps): EventsService {
  return createItemService(EVENTS, deps);
}
