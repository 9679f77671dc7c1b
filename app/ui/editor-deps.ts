// What the editor UI and its JSON API are built from (wired in app/ui/editor-app.ts).
import type { Database } from '../../common/db/database';
import type { Logger } from '../../common/logger';
import type { LoginLimits } from '../auth/login-limiter';
import type { MediaStore } from '../media/media-store';
import type { Moderation } from '../moderation/moderation';
import type { EditorialArticles, EditorialEvents } from '../revisions/revisions';
import type { Views } from './views';

export interface EditorDeps {
  db: Database;
  articles: EditorialArticles;
  events?: EditorialEvents;
  moderation: Moderation;
  media: MediaStore;
  views: Views;
  logger: Logger;
  loginLimits: LoginLimits;
  mediaMaxBytes: number;
  maxBodyBytes: number;
  siteName: string;
  publicUrl: string;
  now: () => number;
}
