// Validation of article writes from the API: the shared item fields
// (app/content/item-input.ts) plus the article's section. Pure, so every
// rule is unit tested with plain data.
import { BadRequestError } from '../errors';
import { InputMode, ItemInput, parseItemInput, StoredStatus, text } from '../content/item-input';
import { SLUG_PATTERN } from '../content/slug';

export { ITEM_STATUSES as ARTICLE_STATUSES, parseTagName } from '../content/item-input';
/** What a stored article's status can be (a save sets ITEM_STATUSES; only the delete action sets 'deleted'). */
export type ArticleStatus = StoredStatus;

export interface ArticleInput extends ItemInput {
  section?: string | null;
  /** A live page: timestamped entries (app/live/live-entries.ts) shown newest first. */
  live?: boolean;
}

/** Checks a JSON body for POST (mode 'create': title and body required) or PUT (every field optional). */
export function parseArticleInput(raw: unknown, mode: InputMode): ArticleInput {
  return parseItemInput<ArticleInput>(raw, mode, {
    fields: ['section', 'live'],
    slugExample: 'my-story',
    own(body, input) {
      if (body.live !== undefined) {
        if (typeof body.live !== 'boolean') throw new BadRequestError('live must be true or false', 'live');
        input.live = body.live;
      }
      if (body.section === undefined) return;
      if (body.section === null) input.section = null;
      else {
        const section = text(body.section, 'section', 64);
        if (!SLUG_PATTERN.test(section))
          throw new BadRequestError('section must be a section slug such as "news"', 'section');
        input.section = section;
      }
    },
  });
}
