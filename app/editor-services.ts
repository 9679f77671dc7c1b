// The domain services the editor UI (app/ui/) and its JSON API (app/api/)
// are both built on; wired once in app/editor-app.ts.
import type { Database } from '../common/db/database';
import type { MediaStore } from './media/media-store';
import type { Moderation } from './moderation/moderation';
import type { EditorialArticles, EditorialEvents } from './revisions/revisions';

export interface EditorServices {
  db: Database;
  articles: EditorialArticles;
  events?: EditorialEvents;
  moderation: Moderation;
  media: MediaStore;
  mediaMaxBytes: number;
  maxBodyBytes: number;
  now: () => number;
}
