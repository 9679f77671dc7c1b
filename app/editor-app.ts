// The editor app: server-rendered UI, its JSON API and the public
// submission form, built from the origin's database and articles service.
// Mounted by app/server.ts; errors on editor pages become HTML pages (JSON
// API errors fall through to the app's JSON error handler).
import path from 'node:path';
import express, { ErrorRequestHandler, Router } from 'express';
import type { Database } from '../common/db/database';
import { HyperstaticError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ArticlesService } from './articles/articles-service';
import { DEFAULT_LOGIN_LIMITS, LoginLimits } from './auth/login-limiter';
import { purgeExpiredSessions } from './auth/sessions';
import { asUnavailable } from './http-errors';
import { editorApiRoutes } from './api/editor-routes';
import { createMediaStore, MediaStore } from './media/media-store';
import { createModeration, SubmissionLimits } from './moderation/moderation';
import {
  actorContext,
  EditorialArticles,
  EditorialEvents,
  withEventRevisions,
  withRevisions,
} from './revisions/revisions';
import { authenticateToken } from './auth/users';
import { authRoutes } from './ui/auth-routes';
import { contentRoutes } from './ui/content-routes';
import type { EditorDeps } from './ui/editor-deps';
import { mediaRoutes } from './ui/media-routes';
import { moderationRoutes } from './ui/moderation-routes';
import { publicRoutes } from './ui/public-routes';
import { renderPage } from './ui/render';
import { usersRoutes } from './ui/users-routes';
import { eventsRoutes } from './ui/events-routes';
import type { EventsService } from './events/events-service';
import { createViews } from './ui/views';
import { sessionLoader } from './ui/web-session';

export interface EditorApp {
  router: Router;
  /** The articles service with revision history; give it to every route that saves articles. */
  articles: EditorialArticles;
  /** The events service with revision history, when this origin has events. */
  events?: EditorialEvents;
  media: MediaStore;
  close(): void;
}

export interface EditorAppOptions {
  db: Database;
  articles: ArticlesService;
  /** Events, when this origin has them (app/events). */
  events?: EventsService;
  logger: Logger;
  mediaDir: string;
  mediaMaxBytes: number;
  maxBodyBytes: number;
  siteName: string;
  publicUrl: string;
  /** Announces a new journal head (media uploads), so mirrors fetch at once. */
  onJournaled?: (head: number) => void;
  loginLimits?: LoginLimits;
  submissionLimits?: SubmissionLimits;
  now?: () => number;
}

export function createEditorApp(options: EditorAppOptions): EditorApp {
  const now = options.now ?? Date.now;
  const { db } = options;
  const articles = withRevisions(options.articles, db, now);
  const events = options.events && withEventRevisions(options.events, db, now);
  const media = createMediaStore({
    db,
    dir: options.mediaDir,
    maxBytes: options.mediaMaxBytes,
    onJournaled: options.onJournaled,
    now,
  });
  const moderation = createModeration({ db, articles, events, limits: options.submissionLimits, now });
  const views = createViews();
  const deps: EditorDeps = {
    db,
    articles,
    events,
    moderation,
    media,
    views,
    logger: options.logger,
    now,
    loginLimits: options.loginLimits ?? DEFAULT_LOGIN_LIMITS,
    mediaMaxBytes: options.mediaMaxBytes,
    maxBodyBytes: options.maxBodyBytes,
    siteName: options.siteName,
    publicUrl: options.publicUrl,
  };

  const router = Router();
  // API saves made through routes outside this app (POST/PUT /api/articles, /api/events)
  // are recorded in the history under the token's user.
  router.use('/api', async (req, _res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const user = match ? await authenticateToken(db, match[1]).catch(() => undefined) : undefined;
    if (!user) return next();
    actorContext.run({ userId: user.id }, () => next());
  });
  router.use('/api', editorApiRoutes(deps));
  router.use('/editor/static', express.static(path.join(__dirname, 'ui', 'static'), { maxAge: '1h', index: false }));
  router.get('/editor/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  router.use(['/editor', '/submit', '/media'], sessionLoader(db));
  router.use(authRoutes(deps));
  router.use(contentRoutes(deps));
  if (events) router.use(eventsRoutes(deps, events));
  router.use(mediaRoutes(deps));
  router.use(moderationRoutes(deps));
  router.use(usersRoutes(deps));
  router.use(publicRoutes(deps));
  router.use(['/editor', '/submit'], (_req, res) => {
    renderPage(views, res, 'error.njk', { status: 404, message: 'There is no such page in the editor.' }, 404);
  });
  const htmlErrors: ErrorRequestHandler = (error, req, res, next) => {
    if (req.path.startsWith('/api') || res.headersSent) return next(error);
    const typed = error instanceof HyperstaticError ? error : asUnavailable(error);
    const parser = error as { type?: string; status?: number };
    if (!typed) {
      if (parser.type === 'entity.too.large')
        return renderPage(
          views,
          res,
          'error.njk',
          { status: 413, message: 'The form is larger than this site accepts.' },
          413,
        );
      if (parser.status && parser.status >= 400 && parser.status < 500)
        return renderPage(
          views,
          res,
          'error.njk',
          { status: parser.status, message: 'The request could not be read.' },
          parser.status,
        );
      return next(error);
    }
    if (typed.status >= 500) options.logger.warn({ err: error, url: req.originalUrl }, typed.message);
    const retry = (typed as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retry) res.set('Retry-After', String(retry));
    // A 413 answered while the client is still sending: close rather than read the rest.
    if (typed.status === 413) res.set('Connection', 'close');
    renderPage(views, res, 'error.njk', { status: typed.status, message: typed.message }, typed.status);
  };
  router.use(htmlErrors);

  const purge = setInterval(() => void purgeExpiredSessions(db, now()).catch(() => undefined), 3600_000);
  purge.unref();
  return { router, media, articles, events, close: () => clearInterval(purge) };
}
