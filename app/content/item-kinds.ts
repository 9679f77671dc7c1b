// Every kind of item this origin publishes. A new kind is declared in its
// own folder (like app/events/event-kind.ts) and listed here.
import { ARTICLES } from '../articles/article-kind';
import { EVENTS } from '../events/event-kind';
import { BadRequestError, NotFoundError } from '../errors';
import type { EditorialService } from './item-revisions';
import type { ItemKind } from './item-kind';

export const ITEM_KINDS: readonly ItemKind[] = [ARTICLES, EVENTS] as unknown as readonly ItemKind[];

export type ItemKindName = ItemKind['name'];

/** A kind by its plural as it appears in URLs (`articles`), or 400. */
export function kindOfPlural(raw: unknown, message: string): ItemKind {
  const kind = ITEM_KINDS.find((k) => k.plural === raw);
  if (!kind) throw new BadRequestError(message, 'kind');
  return kind;
}

/** The editorial services of the kinds this origin has. */
export type EditorialItems = readonly EditorialService[];

/** The service for kind `name`, or 404 when this origin does not have that kind. */
export function serviceOf(items: EditorialItems, name: string): EditorialService {
  const service = items.find((s) => s.kind.name === name);
  if (!service) throw new NotFoundError(`${ITEM_KINDS.find((k) => k.name === name)?.plural ?? name} on this origin`);
  return service;
}
