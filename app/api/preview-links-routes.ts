// JSON API for shareable preview links (app/preview/preview-links.ts):
// create one for a draft or scheduled item (the token is in this answer
// only), list an item's links, revoke one. Not idempotent by key: a retried
// create makes a second link, which an editor can revoke, and replaying the
// first answer would hand out a token the database no longer knows.
import { RequestHandler, Router } from 'express';
import type { EditorServices } from '../editor-services';
import { BadRequestError } from '../errors';
import { parseId } from '../http/request-params';
import { parseExpiresInHours } from '../preview/preview-links';
import { ApiRequest, requireJson, requireRole, requireToken } from './middleware';

export function previewLinksApiRoutes(deps: EditorServices, json: RequestHandler): Router {
  const router = Router();
  const token = requireToken(deps.db);
  const editors = requireRole('admin', 'editor');
  for (const service of deps.items) {
    const { plural, name } = service.kind;
    router.get(`/${plural}/:id/previews`, token, async (req, res) => {
      const item = await service.get(parseId(req.params.id));
      res.json({ previews: await deps.previews.list(name, item.id) });
    });
    router.post(`/${plural}/:id/previews`, token, editors, requireJson, json, async (req: ApiRequest, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const unknown = Object.keys(body).filter((k) => k !== 'expiresInHours');
      if (unknown.length > 0) throw new BadRequestError(`unknown field: ${unknown[0]}`, unknown[0]);
      const hours = parseExpiresInHours(body.expiresInHours, 'json');
      const item = await service.get(parseId(req.params.id));
      const created = await deps.previews.create(name, item, hours, { id: req.user!.id, name: req.user!.name });
      res.status(201).json({ ...created, url: `${req.protocol}://${req.get('host')}${created.path}` });
    });
    router.post(`/${plural}/:id/previews/:link/revoke`, token, editors, async (req: ApiRequest, res) => {
      const id = parseId(req.params.id);
      const link = parseId(req.params.link, 'link');
      await service.get(id);
      res.json(await deps.previews.revoke(name, id, link, { id: req.user!.id, name: req.user!.name }));
    });
  }
  return router;
}
