// JSON API for an item's history and reach, for every kind: its revisions,
// restoring one (a new save), and how far its page has propagated.
import { Router } from 'express';
import { propagationOf } from '../content/propagation';
import type { EditorialService } from '../content/item-revisions';
import type { EditorServices } from '../editor-services';
import { parseId } from '../http/request-params';
import type { EditorWrites } from './editor-writes';
import { ApiRequest, requireRole, requireToken } from './middleware';

export function itemHistoryApiRoutes(deps: EditorServices, { once }: EditorWrites): Router {
  const router = Router();
  for (const service of deps.items) router.use(historyRoutes(deps, service, once));
  return router;
}

function historyRoutes(deps: EditorServices, service: EditorialService, once: EditorWrites['once']): Router {
  const { plural, name } = service.kind;
  const router = Router();
  const token = requireToken(deps.db);

  router.get(`/${plural}/:id/revisions`, token, async (req, res) => {
    res.json({ revisions: await service.revisions(parseId(req.params.id)) });
  });
  router.post(
    `/${plural}/:id/revisions/:rev/restore`,
    token,
    requireRole('admin', 'editor'),
    async (req: ApiRequest, res) => {
      const id = parseId(req.params.id);
      const rev = parseId(req.params.rev, 'revision');
      await once(req, res, req.user!.id, 200, () => service.restore(id, rev, req.user!.id));
    },
  );
  router.get(`/${plural}/:id/propagation`, token, async (req, res) => {
    const item = await service.get(parseId(req.params.id));
    res.json(await propagationOf(deps.db, { topic: name, ...item }, deps.now()));
  });
  return router;
}
