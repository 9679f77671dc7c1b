// The editor's pages for each kind of item, declared: templates, the form's
// fields and how they map to the kind's input, and the list page. The
// routes themselves are generated once (app/ui/item-pages.ts).
import type { Request } from 'express';
import type { Article } from '../articles/article-kind';
import { ItemInput, STORED_STATUSES, StoredStatus } from '../content/item-input';
import type { Item } from '../content/item-kind';
import type { EditorialService } from '../content/item-revisions';
import { listSections } from '../content/sections';
import type { Event } from '../events/event-kind';
import { formValues as articleFormValues, parseArticleForm } from './article-form';
import { listArticles, parseArticleFilter } from './content-queries';
import type { EditorDeps } from './editor-deps';
import { eventFormValues, parseEventForm, toLocal } from './event-form';
import { SharedFormValues, sharedValuesOf } from './form-values';
import type { RenderJob } from '../../common/queue/render-queue';

export type FormValues = SharedFormValues;

export interface ItemForm {
  /** The kind (app/content/item-kind.ts) these pages edit. */
  kind: RenderJob['topic'];
  templates: { list: string; edit: string; revision: string };
  /** The values of an empty form, of an item's form, and of a posted form shown again. */
  emptyValues(): FormValues;
  valuesOf(item: Item, zone: string): FormValues;
  posted(body: Record<string, unknown>): FormValues;
  /** `zone`: the site's time zone the schedule fields are in. */
  parse(body: Record<string, unknown>, mode: 'create' | 'update', zone: string): ItemInput;
  /** What the edit template needs beyond the item and its form (e.g. the sections to choose from). */
  editContext(deps: EditorDeps): Promise<Record<string, unknown>>;
  /** The list template's context. */
  listContext(deps: EditorDeps, service: EditorialService, req: Request): Promise<Record<string, unknown>>;
}

const ARTICLE_FORM: ItemForm = {
  kind: 'article',
  templates: { list: 'articles.njk', edit: 'article-edit.njk', revision: 'revision.njk' },
  emptyValues: () => articleFormValues({ status: 'draft' }),
  valuesOf: (item, zone) => ({
    ...sharedValuesOf(item, zone),
    section: (item as Article).section ?? '',
    live: (item as Article).live,
  }),
  posted: articleFormValues,
  parse: (body, mode, zone) => parseArticleForm(body, mode, { allowStatus: true, zone }),
  editContext: async ({ db }) => ({ sections: await listSections(db) }),
  async listContext({ db }, _service, req) {
    const filter = parseArticleFilter(req.query as Record<string, unknown>);
    const [{ rows, more }, sections] = await Promise.all([listArticles(db, filter), listSections(db)]);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries({ status: filter.status, section: filter.section, q: filter.q }))
      if (v) query.set(k, v);
    return { rows, more, filter, sections, query: query.toString() };
  },
};

const EVENT_FORM: ItemForm = {
  kind: 'event',
  templates: { list: 'events.njk', edit: 'event-edit.njk', revision: 'event-revision.njk' },
  emptyValues: () => eventFormValues({ status: 'draft' }),
  valuesOf(item, zone) {
    const { location, startsAt, endsAt } = item as Event;
    return {
      ...sharedValuesOf(item, zone),
      location,
      startsAt: toLocal(startsAt, zone),
      endsAt: toLocal(endsAt, zone),
    };
  },
  posted: eventFormValues,
  parse: parseEventForm,
  editContext: async () => ({}),
  async listContext(_deps, service, req) {
    const status =
      typeof req.query.status === 'string' && STORED_STATUSES.includes(req.query.status as StoredStatus)
        ? (req.query.status as StoredStatus)
        : undefined;
    return { rows: await service.list({ status, limit: 100, offset: 0 }), status };
  },
};

/** Every kind's editor pages, by kind name. */
export const ITEM_FORMS: readonly ItemForm[] = [ARTICLE_FORM, EVENT_FORM];
