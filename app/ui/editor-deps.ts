// What the editor UI's routers are built from: the domain services and the
// page machinery (templates, sessions, the site's name and address).
import type { Logger } from '../../common/logger';
import type { EditorServices } from '../editor-services';
import type { Views } from './views';

export interface EditorDeps extends EditorServices {
  views: Views;
  logger: Logger;
  siteName: string;
  publicUrl: string;
  /** IANA zone the editor shows and reads scheduled times in (SITE_TIME_ZONE). */
  siteTimeZone: string;
}
