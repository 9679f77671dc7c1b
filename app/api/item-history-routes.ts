// JSON API for an item's history and reach, for every kind: its revisions
// (numbered 1, 2, 3… per item), what one changed, restoring one (a new save,
// only with "confirm": true), and how far its page has propagated.
import express, { Router } from 'express';
import { compareRevision, parseComparison } from '../content/revision-compare';
import { BadRequestError } from '../errors';
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
  const json = express.json({ limit: '1kb', strict: true });

  router.get(`/${plural}/:id/revisions`, token, async (req, res) => {
    res.json({ revisions: await service.revisions(parseId(req.params.id)) });
  });
  router.get(`/${plural}/:id/revisions/:rev/diff`, token, async (req, res) => {
    const id = parseId(req.params.id);
    const rev = parseId(req.params.rev, 'revision');
    const against = parseComparison(req.query.against);
    const { revision, ...comparison } = await compareRevision(service, id, rev, against);
    const { snapshot: _snapshot, ...shown } = revision;
    res.json({ ...comparison, revision: shown });
  });
  router.post(
    `/${plural}/:id/revisions/:rev/restore`,
    token,
    requireRole('admin', 'editor'),
    json,
    async (req: ApiRequest, res) => {
      const id = parseId(req.params.id);
      const rev = parseId(req.params.rev, 'revision');
      // A restore goes live at once when the revision was published: the caller says it has looked (…/diff?against=current).
      if ((req.body as { confirm?: unknown } | undefined)?.confirm !== true)
        throw new BadRequestError(
          `confirm must be true to restore: GET /api/${plural}/${id}/revisions/${rev}/diff?against=current shows what it changes`,
          'confirm',
        );
      await once(req, res, req.user!.id, 200, () => service.restore(id, rev, req.user!.id));
    },
  );
  router.get(`/${plural}/:id/propagation`, token, async (req, res) => {
    const item = await service.get(parseId(req.params.id));
    res.json(await propagationOf(deps.db, { topic: name, ...item }, deps.now()));
  });
  return router;
}
