// The editor's dashboard: counts, recent articles and the head of the moderation queue.
import { Router } from 'express';
import { dashboardCounts, listArticles } from './content-queries';
import type { EditorDeps } from './editor-deps';
import { renderPage } from './render';
import { scheduledChanges } from './schedule-routes';
import { zoneLabel } from './zoned-time';
import { requireRole, WebRequest } from './web-session';

export function dashboardRoutes(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const anyone = requireRole();

  router.get('/editor', anyone, async (req: WebRequest, res) => {
    const [counts, recent, queue, scheduled] = await Promise.all([
      dashboardCounts(db),
      listArticles(db, { page: 1 }),
      deps.moderation.queue({ state: 'pending', limit: 5 }),
      scheduledChanges(deps),
    ]);
    renderPage(views, res, 'dashboard.njk', {
      counts,
      recent: recent.rows.slice(0, 8),
      queue,
      scheduled,
      timeZone: deps.siteTimeZone,
      timeZoneLabel: zoneLabel(deps.siteTimeZone, deps.now()),
      nav: 'dashboard',
      notice: req.query.notice,
    });
  });

  return router;
}
