// Sections and tags in the editor. Renaming a tag keeps its slug and
// re-renders what shows the name (app/content/tags.ts).
import express, { Response, Router } from 'express';
import { HyperstaticError } from '../../common/errors';
import { translateUniqueViolation } from '../content/item-writes';
import { createSection, listSections } from '../content/sections';
import { listTags, renameTag } from '../content/tags';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export function taxonomyRoutes(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  /** The sections, and the new-section form: empty, or as posted with the problem named at its field. */
  async function sectionsPage(req: WebRequest, res: Response, refused?: { error: HyperstaticError; values: object }) {
    const context = { sections: await listSections(db), nav: 'sections', notice: req.query.notice };
    if (!refused) return renderPage(views, res, 'sections.njk', { ...context, values: {} });
    const { error, values } = refused;
    const errorField = (error as { field?: string }).field;
    const failed = { notice: undefined, error: error.message, errorField, values };
    renderPage(views, res, 'sections.njk', { ...context, ...failed }, error.status);
  }

  router.get('/editor/sections', anyone, (req: WebRequest, res) => sectionsPage(req, res));

  router.post('/editor/sections', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    try {
      const { name } = await db
        .transaction((trx) => createSection(trx, text(body.name), text(body.slug)))
        .catch(translateUniqueViolation);
      res.redirect(303, withNotice('/editor/sections', `section ${name} created`));
    } catch (error) {
      if (!(error instanceof HyperstaticError) || error.status >= 500) throw error;
      await sectionsPage(req, res, { error, values: { name: text(body.name), slug: text(body.slug) } });
    }
  });

  /** The tags; after a refused rename, the problem named at that tag's field with the name as typed. */
  async function tagsPage(
    req: WebRequest,
    res: Response,
    refused?: { error: HyperstaticError; slug: string; name: string },
  ) {
    const context = { tags: await listTags(db), nav: 'sections', notice: refused ? undefined : req.query.notice };
    if (!refused) return renderPage(views, res, 'tags.njk', context);
    const failed = { error: refused.error.message, errorField: 'name', failed: refused };
    renderPage(views, res, 'tags.njk', { ...context, ...failed }, refused.error.status);
  }

  router.get('/editor/tags', anyone, (req: WebRequest, res) => tagsPage(req, res));

  router.post('/editor/tags/:slug', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const slug = String(req.params.slug);
    const posted = (req.body as Record<string, unknown>).name;
    try {
      const renamed = await db.transaction((trx) => renameTag(trx, slug, posted, deps.now()));
      deps.onOwed();
      const notice = `tag ${renamed.slug} renamed to ${renamed.name}; ${renamed.queued} item(s) re-rendering`;
      res.redirect(303, withNotice('/editor/tags', notice));
    } catch (error) {
      if (!(error instanceof HyperstaticError) || error.status >= 500 || error.status === 404) throw error;
      const name = typeof posted === 'string' ? posted.slice(0, 1000) : '';
      await tagsPage(req, res, { error, slug, name });
    }
  });

  return router;
}
