// The moderation queue and site settings.
import express, { Router, type Request } from 'express';
import { HyperstaticError } from '../../common/errors';
import { OPEN_PUBLISHING_MODES, parseOpenPublishing, readSettings, writeSettings } from '../moderation/settings';
import {
  allowedModerationActions,
  BULK_LIMIT,
  parseBulkIds,
  parseKind,
  parseModerationAction,
} from '../moderation/moderation';
import { clientAddress, parseId } from '../http/request-params';
import { serviceOf } from '../content/item-kinds';
import type { EditorDeps } from './editor-deps';
import { ITEM_FORMS } from './item-forms';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export function moderationRoutes(deps: EditorDeps): Router {
  const { db, views, moderation, audit } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const moderators = requireRole('admin', 'editor', 'moderator');
  const bulkForm = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: BULK_LIMIT + 10 });

  router.get('/editor/moderation', moderators, async (req: WebRequest, res) => {
    const state = req.query.state === 'reviewed' || req.query.state === 'all' ? req.query.state : 'pending';
    const [queued, settings] = await Promise.all([moderation.queue({ state, limit: 100 }), readSettings(db)]);
    const role = req.session!.user.role;
    // Only the buttons this role may press (moderationRefusal decides again on the post).
    const items = queued.map((q) => ({
      ...q,
      allowed: allowedModerationActions(role, {
        status: q.item.status,
        featured: q.item.featured,
        submission: q.state,
      }),
    }));
    renderPage(views, res, 'moderation.njk', { items, state, settings, nav: 'moderation', notice: req.query.notice });
  });

  // The list's bulk actions: the checked items, one action, back to the list (with its filters) and a notice.
  router.post('/editor/moderation/:kind', moderators, bulkForm, requireCsrf, async (req: WebRequest, res) => {
    const kind = parseKind(req.params.kind);
    const body = req.body as Record<string, unknown>;
    const back = `/editor/${kind}s?${listQuery(body.back)}`;
    try {
      const ids = parseBulkIds(body.ids);
      const { action, reason } = parseModerationAction(body.action, body.reason);
      await moderation.actOnMany(kind, ids, action, req.session!.user, reason);
      res.redirect(303, withNotice(back, `${action}: ${ids.length} ${kind}${ids.length > 1 ? 's' : ''}`));
    } catch (error) {
      // The list again, as it was filtered, with the problem named; nothing changed (every item is checked before any is saved).
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      const form = ITEM_FORMS.find((f) => f.kind === kind)!;
      const listRequest = { query: Object.fromEntries(new URLSearchParams(listQuery(body.back))) } as Request;
      const context = await form.listContext(deps, serviceOf(deps.items, kind), listRequest);
      renderPage(views, res, form.templates.list, { ...context, nav: `${kind}s`, error: error.message }, error.status);
    }
  });

  router.post('/editor/moderation/:kind/:id', moderators, form, requireCsrf, async (req: WebRequest, res) => {
    const kind = parseKind(req.params.kind);
    const id = parseId(req.params.id);
    const body = req.body as Record<string, unknown>;
    const { action, reason } = parseModerationAction(body.action, body.reason);
    await moderation.act(kind, id, action, req.session!.user, reason);
    const back = body.back === 'item' ? `/editor/${kind}s/${id}` : '/editor/moderation';
    res.redirect(303, withNotice(back, `${kind} ${id}: ${action}${reason ? ` (${reason})` : ''}`));
  });

  router.get('/editor/settings', requireRole('admin'), async (req: WebRequest, res) => {
    renderPage(views, res, 'settings.njk', {
      settings: await readSettings(db),
      modes: OPEN_PUBLISHING_MODES,
      nav: 'settings',
      notice: req.query.notice,
    });
  });

  router.post('/editor/settings', requireRole('admin'), form, requireCsrf, async (req: WebRequest, res) => {
    const openPublishing = parseOpenPublishing((req.body as Record<string, unknown>).openPublishing);
    const before = await readSettings(db);
    await db.transaction(async (trx) => {
      await writeSettings(trx, { openPublishing });
      const user = req.session!.user;
      await audit.record(trx, {
        action: 'settings_changed',
        actor: user,
        target: 'settings',
        address: clientAddress(req),
        detail: { openPublishing, was: before.openPublishing },
      });
    });
    res.redirect(303, withNotice('/editor/settings', 'settings saved'));
  });

  return router;
}

/** The list's own filters (status, section, search, page) from the form's `back` field; anything else is dropped. */
function listQuery(raw: unknown): string {
  const given = new URLSearchParams(typeof raw === 'string' ? raw : '');
  const kept = new URLSearchParams();
  for (const key of ['status', 'section', 'q', 'page']) {
    const value = given.get(key);
    if (value) kept.set(key, value.slice(0, 200));
  }
  return kept.toString();
}
