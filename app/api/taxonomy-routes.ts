// JSON API for sections and tags. Renaming a tag keeps its slug and
// re-renders what shows the name (app/content/tags.ts).
import { RequestHandler, Router } from 'express';
import { createSection, listSections } from '../content/sections';
import { listTags, renameTag } from '../content/tags';
import type { EditorServices } from '../editor-services';
import { body, EditorWrites, str } from './editor-writes';
import { ApiRequest, requireJson, requireRole, requireToken } from './middleware';

export function taxonomyApiRoutes(deps: EditorServices, writes: EditorWrites, json: RequestHandler): Router {
  const { db } = deps;
  const { once, inTransaction } = writes;
  const router = Router();
  const token = requireToken(db);
  const editors = requireRole('admin', 'editor');

  router.get('/sections', token, async (_req, res) => {
    res.json({ sections: await listSections(db) });
  });
  router.post('/sections', token, editors, requireJson, json, async (req: ApiRequest, res) => {
    const b = body(req);
    const name = str(b, 'name', 100);
    const slug = b.slug === undefined ? undefined : str(b, 'slug', 64);
    await once(
      req,
      res,
      req.user!.id,
      201,
      inTransaction((trx) => createSection(trx, name, slug)),
    );
  });

  router.get('/tags', token, async (_req, res) => {
    res.json({ tags: await listTags(db) });
  });
  router.put('/tags/:slug', token, editors, requireJson, json, async (req: ApiRequest, res) => {
    const name = body(req).name;
    await once(
      req,
      res,
      req.user!.id,
      200,
      inTransaction((trx) => renameTag(trx, String(req.params.slug), name, deps.now())),
    );
    deps.onOwed();
  });
  return router;
}
