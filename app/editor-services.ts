// The domain services the editor UI (app/ui/) and its JSON API (app/api/)
// are both built on; wired once in app/editor-app.ts.
import type { Database } from '../common/db/database';
import type { AuditLog } from './audit/audit-log';
import type { AuditedAccounts } from './auth/audited-accounts';
import type { LoginLimits } from './auth/login-limiter';
import type { EditorialItems } from './content/item-kinds';
import type { MediaStore } from './media/media-store';
import type { Moderation } from './moderation/moderation';
import type { PreviewLinks } from './preview/preview-links';

export interface EditorServices {
  db: Database;
  /** One editorial service (saves with revision history) per kind this origin has. */
  items: EditorialItems;
  moderation: Moderation;
  /** Who did what (app/audit/audit-log.ts). */
  audit: AuditLog;
  /** User, password, session and token changes, each with its audit row. */
  accounts: AuditedAccounts;
  loginLimits: LoginLimits;
  /** Shareable preview links of drafts and scheduled items (app/preview/). */
  previews: PreviewLinks;
  media: MediaStore;
  mediaMaxBytes: number;
  maxBodyBytes: number;
  now: () => number;
  /** Called after a write that owes renders commits outside an item service (tag renames): wakes the outbox relay. */
  onOwed: () => void;
}
