// The moderation queue and site settings.
import express, { Router } from 'express';
import { OPEN_PUBLISHING_MODES, parseOpenPublishing, readSettings, writeSettings } from '../moderation/settings';
import { parseKind, parseModerationAction } from '../moderation/moderation';
import { parseId } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export function moderationRoutes(deps: EditorDeps): Router {
  const { db, views, moderation } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const moderators = requireRole('admin', 'editor', 'moderator');

  router.get('/editor/moderation', moderators, async (req: WebRequest, res) => {
    const state = req.query.state === 'reviewed' || req.query.state === 'all' ? req.query.state : 'pending';
    const [items, settings] = await Promise.all([moderation.queue({ state, limit: 100 }), readSettings(db)]);
    renderPage(views, res, 'moderation.njk', { items, state, settings, nav: 'moderation', notice: req.query.notice });
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
    await writeSettings(db, { openPublishing });
    res.redirect(303, withNotice('/editor/settings', 'settings saved'));
  });

  return router;
}
