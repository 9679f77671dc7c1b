// The moderation queue and site settings.
import express, { Router } from 'express';
import { OPEN_PUBLISHING_MODES, parseOpenPublishing, readSettings, writeSettings } from '../moderation/settings';
import { allowedModerationActions, parseKind, parseModerationAction } from '../moderation/moderation';
import { clientAddress, parseId } from '../http/request-params';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export function moderationRoutes(deps: EditorDeps): Router {
  const { db, views, moderation, audit } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const moderators = requireRole('admin', 'editor', 'moderator');

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
