// Sections and tags in the editor. Renaming a tag keeps its slug and
// re-renders what shows the name (app/content/tags.ts).
import express, { Router } from 'express';
import { listSections } from '../content/sections';
import { slugify } from '../content/slug';
import { listTags, renameTag } from '../content/tags';
import { BadRequestError, ConflictError } from '../errors';
import type { EditorDeps } from './editor-deps';
import { renderPage, withNotice } from './render';
import { requireCsrf, requireRole, WebRequest } from './web-session';

export function taxonomyRoutes(deps: EditorDeps): Router {
  const { db, views } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: deps.maxBodyBytes, parameterLimit: 50 });
  const anyone = requireRole();
  const editors = requireRole('admin', 'editor');

  router.get('/editor/sections', anyone, async (req: WebRequest, res) => {
    renderPage(views, res, 'sections.njk', {
      sections: await listSections(db),
      nav: 'sections',
      notice: req.query.notice,
    });
  });

  router.post('/editor/sections', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const body = req.body as Record<string, unknown>;
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name === '' || name.length > 100) throw new BadRequestError('a section name is 1 to 100 characters', 'name');
    if (/[<>\p{Cc}]/u.test(name))
      throw new BadRequestError('section names may not contain < > or control characters', 'name');
    const slug = slugify(typeof body.slug === 'string' && body.slug !== '' ? body.slug : name, 64);
    if (slug === '') throw new BadRequestError('the section needs letters or digits in its name', 'name');
    if (await db('sections').where({ slug }).first('id'))
      throw new ConflictError(`section "${slug}" already exists`, 'slug');
    await db('sections').insert({ slug, name });
    res.redirect(303, withNotice('/editor/sections', `section ${name} created`));
  });

  router.get('/editor/tags', anyone, async (req: WebRequest, res) => {
    renderPage(views, res, 'tags.njk', { tags: await listTags(db), nav: 'sections', notice: req.query.notice });
  });

  router.post('/editor/tags/:slug', editors, form, requireCsrf, async (req: WebRequest, res) => {
    const renamed = await db.transaction((trx) =>
      renameTag(trx, String(req.params.slug), (req.body as Record<string, unknown>).name, deps.now()),
    );
    deps.onOwed();
    res.redirect(
      303,
      withNotice(
        '/editor/tags',
        `tag ${renamed.slug} renamed to ${renamed.name}; ${renamed.queued} item(s) re-rendering`,
      ),
    );
  });

  return router;
}
