// The editor's HTML side: static files, sessions, every page router, and
// HTML error pages. Mounted by app/editor-app.ts beside the JSON API.
import path from 'node:path';
import { Router } from 'express';
import { auditRoutes } from './audit-routes';
import { authRoutes } from './auth-routes';
import { dashboardRoutes } from './dashboard-routes';
import { draftRoutes } from './draft-routes';
import { EDITOR_BUNDLE, ensureEditorBundle } from './editor-bundle';
import type { EditorDeps } from './editor-deps';
import { htmlErrors } from './html-errors';
import { itemPages } from './item-pages';
import { liveRoutes } from './live-routes';
import { mediaRoutes } from './media-routes';
import { moderationRoutes } from './moderation-routes';
import { publicRoutes } from './public-routes';
import { renderPage } from './render';
import { scheduleRoutes } from './schedule-routes';
import { taxonomyRoutes } from './taxonomy-routes';
import { usersRoutes } from './users-routes';
import { staticAssets } from './static-assets';
import { sessionLoader } from './web-session';

export function editorUi(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const staticDir = path.join(__dirname, 'static');
  ensureEditorBundle(staticDir);
  const assets = staticAssets(staticDir, '/editor/static');
  const richEditorSrc = assets.urlOf(EDITOR_BUNDLE);
  const staticUrls = { css: assets.urlOf('editor.css'), editorJs: assets.urlOf('editor.js') };
  router.use('/editor/static', assets.handler);
  // Every page this router renders (error pages too) links the files by their content hash.
  router.use((_req, res, next) => {
    res.locals.richEditorSrc = richEditorSrc;
    res.locals.staticUrls = staticUrls;
    next();
  });
  router.get('/editor/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  router.use(['/editor', '/submit', '/media'], sessionLoader(db));
  // Every page shows and reads times in the site's zone (SITE_TIME_ZONE).
  router.use(['/editor', '/submit'], (_req, res, next) => {
    res.locals.timeZone = deps.siteTimeZone;
    next();
  });
  router.use(authRoutes(deps));
  router.use(dashboardRoutes(deps));
  router.use(scheduleRoutes(deps));
  router.use(liveRoutes(deps));
  router.use(itemPages(deps));
  router.use(draftRoutes(deps));
  router.use(taxonomyRoutes(deps));
  router.use(mediaRoutes(deps));
  router.use(moderationRoutes(deps));
  router.use(usersRoutes(deps));
  router.use(auditRoutes(deps));
  router.use(publicRoutes(deps));
  router.use(['/editor', '/submit'], (_req, res) => {
    renderPage(views, res, 'error.njk', { status: 404, message: 'There is no such page in the editor.' }, 404);
  });
  router.use(htmlErrors(views, deps.logger, deps.maxBodyBytes));
  return router;
}
