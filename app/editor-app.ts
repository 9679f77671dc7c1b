// The editor app: server-rendered UI (app/ui/), its JSON API (app/api/)
// and the public submission form, both built on the same domain services
// (app/editor-services.ts) from the origin's database and item services.
// Mounted by app/server.ts.
import type { Database } from '../common/db/database';
import type { Logger } from '../common/logger';
import { Router } from 'express';
import { editorApiRoutes } from './api/editor-routes';
import { recordActor } from './api/middleware';
import { createAuditLog } from './audit/audit-log';
import { auditedAccounts } from './auth/audited-accounts';
import { DEFAULT_LOGIN_LIMITS, LoginLimits, purgeLoginThrottle } from './auth/login-limiter';
import { purgeExpiredSessions } from './auth/sessions';
import type { EditorialItems } from './content/item-kinds';
import { withRevisions } from './content/item-revisions';
import type { ItemService } from './content/item-service';
import type { EditorServices } from './editor-services';
import { createMediaStore, MediaStore } from './media/media-store';
import { createModeration, SubmissionLimits } from './moderation/moderation';
import type { PagePreview } from './preview/page-preview';
import { createPreviewLinks } from './preview/preview-links';
import { previewRoutes } from './preview/preview-routes';
import { editorUi } from './ui/editor-ui';
import { createViews } from './ui/views';

export interface EditorApp {
  router: Router;
  /** The item services with revision history; give them to every route that saves items. */
  items: EditorialItems;
  media: MediaStore;
  close(): void;
}

export interface EditorAppOptions {
  db: Database;
  /** One service per kind of item this origin has (app/content/item-kinds.ts). */
  items: readonly ItemService[];
  logger: Logger;
  mediaDir: string;
  mediaMaxBytes: number;
  mediaRenditionConcurrency?: number;
  maxBodyBytes: number;
  siteName: string;
  publicUrl: string;
  /** IANA zone the editor shows and reads scheduled times in (SITE_TIME_ZONE). */
  siteTimeZone?: string;
  /** Wakes the outbox relay after a write that owes renders (tag renames; item saves wake it themselves). */
  onOwed?: () => void;
  loginLimits?: LoginLimits;
  /** The producer's page renderer for preview links (producer/preview-page.ts); without it a preview answers 503. */
  preview?: PagePreview;
  submissionLimits?: SubmissionLimits;
  now?: () => number;
}

function editorServices(options: EditorAppOptions, now: () => number): EditorServices {
  const { db } = options;
  const audit = createAuditLog(db, options.logger, now);
  const items = options.items.map((service) => withRevisions(service, db, now, audit));
  const media = createMediaStore({
    db,
    dir: options.mediaDir,
    maxBytes: options.mediaMaxBytes,
    renditionConcurrency: options.mediaRenditionConcurrency,
    now,
  });
  const moderation = createModeration({ db, items, limits: options.submissionLimits, now });
  return {
    db,
    items,
    moderation,
    audit,
    accounts: auditedAccounts(audit, now),
    loginLimits: options.loginLimits ?? DEFAULT_LOGIN_LIMITS,
    previews: createPreviewLinks(db, audit, now),
    media,
    now,
    onOwed: options.onOwed ?? (() => undefined),
    mediaMaxBytes: options.mediaMaxBytes,
    maxBodyBytes: options.maxBodyBytes,
  };
}

export function createEditorApp(options: EditorAppOptions): EditorApp {
  const now = options.now ?? Date.now;
  const { db } = options;
  const services = editorServices(options, now);
  const router = Router();
  // Public, before any session or login: a preview link is opened by people without an account.
  router.use(previewRoutes({ db, links: services.previews, preview: options.preview }));
  router.use('/api', recordActor(db));
  router.use('/api', editorApiRoutes(services));
  router.use(
    editorUi({
      ...services,
      views: createViews(),
      logger: options.logger,
      siteName: options.siteName,
      publicUrl: options.publicUrl,
      siteTimeZone: options.siteTimeZone ?? 'UTC',
    }),
  );
  const purge = setInterval(() => {
    void purgeExpiredSessions(db, now()).catch(() => undefined);
    void purgeLoginThrottle(db, services.loginLimits, now()).catch(() => undefined);
  }, 3600_000);
  purge.unref();
  return { router, media: services.media, items: services.items, close: () => clearInterval(purge) };
}
