// The dashboard's list of what is scheduled (publications and take-downs of
// every kind, soonest first), and its one-click reschedule and cancel: each
// an ordinary save of the item's publishAt or unpublishAt, with the same
// checks, revision and re-arming of the scheduler as the edit form's.
import express, { Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { kindOfPlural, serviceOf } from '../content/item-kinds';
import { BadRequestError } from '../errors';
import { parseId } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';
import { fromZonedLocal, toZonedLocal } from './zoned-time';

export interface ScheduledChange {
  plural: string;
  kind: string;
  id: number;
  title: string;
  status: string;
  /** The input field that holds it. */
  field: 'publishAt' | 'unpublishAt';
  at: number;
  /** `at` as a datetime-local value in the site's zone. */
  local: string;
}

const LIST_LIMIT = 100;

/** Every pending scheduled change, soonest first. */
export async function scheduledChanges(deps: EditorDeps): Promise<ScheduledChange[]> {
  const changes: ScheduledChange[] = [];
  for (const service of deps.items) {
    const { plural, name } = service.kind;
    const rows = await deps
      .db(plural)
      .whereNotNull('publish_at')
      .orWhereNotNull('unpublish_at')
      .orderBy('id', 'desc')
      .limit(LIST_LIMIT)
      .select('id', 'title', 'status', 'publish_at', 'unpublish_at');
    for (const r of rows)
      for (const [field, column] of [
        ['publishAt', 'publish_at'],
        ['unpublishAt', 'unpublish_at'],
      ] as const)
        if (r[column] != null) {
          const at = Number(r[column]);
          const local = toZonedLocal(at, deps.siteTimeZone);
          changes.push({ plural, kind: name, id: Number(r.id), title: r.title, status: r.status, field, at, local });
        }
  }
  return changes.sort((a, b) => a.at - b.at).slice(0, LIST_LIMIT);
}

export function scheduleRoutes(deps: EditorDeps): Router {
  const router = Router();
  const urlencoded = express.urlencoded({ extended: false, limit: 4096, parameterLimit: 10 });

  // POST /editor/schedule/articles/12 with field=publishAt and at=2026-12-07T09:30 (site zone), or cancel.
  router.post(
    '/editor/schedule/:plural/:id',
    requireRole('admin', 'editor'),
    urlencoded,
    requireCsrf,
    async (req: WebRequest, res) => {
      const kind = kindOfPlural(req.params.plural, 'unknown kind of item');
      const id = parseId(req.params.id);
      const body = req.body as Record<string, unknown>;
      const field = body.field;
      if (field !== 'publishAt' && field !== 'unpublishAt')
        throw new BadRequestError('field must be publishAt or unpublishAt', 'field');
      const cancel = body.intent === 'cancel';
      if (!cancel && typeof body.at !== 'string') throw new BadRequestError('at is required', field);
      try {
        const at = cancel ? null : fromZonedLocal(body.at as string, deps.siteTimeZone, field);
        await serviceOf(deps.items, kind.name).update(id, { [field]: at }, { actor: { userId: req.session!.user.id } });
        res.redirect(303, `${withNotice('/editor', cancel ? 'schedule cancelled' : 'rescheduled')}#scheduled`);
      } catch (error) {
        if (error instanceof HyperstaticError && error.status < 500)
          return res.redirect(303, `${withNotice('/editor', `not changed: ${error.message}`)}#scheduled`);
        throw error;
      }
    },
  );
  return router;
}
