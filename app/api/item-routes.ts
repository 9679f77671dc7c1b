// JSON API for one kind of item (articles, events), generated from its
// declaration (app/content/item-kind.ts): POST creates, PUT updates (fields
// not sent are kept), GET reads. Writes need `Authorization: Bearer TOKEN`
// and honour Idempotency-Key.
import express, { Router } from 'express';
import type { Database } from '../../common/db/database';
import type { ItemService, SaveResult } from '../content/item-service';
import { STORED_STATUSES, StoredStatus } from '../content/item-input';
import { idempotent } from '../db/idempotency';
import { BadRequestError } from '../errors';
import { parseId } from '../http/request-params';
import { ApiRequest, boundedInt, requireJson, requireRole, requireToken, sendStored, writeRequest } from './middleware';

export interface ItemRoutesDeps {
  db: Database;
  items: readonly ItemService[];
  maxBodyBytes: number;
}

/** Every kind's routes: /articles, /events, ... */
export function itemsRouter({ db, items, maxBodyBytes }: ItemRoutesDeps): Router {
  const router = Router();
  for (const service of items) router.use(itemRoutes(db, service, maxBodyBytes));
  return router;
}

function itemRoutes(db: Database, service: ItemService, maxBodyBytes: number): Router {
  const { kind } = service;
  const router = Router();
  const json = express.json({ limit: maxBodyBytes, strict: true });
  const auth = requireToken(db);
  // Moderators moderate (app/api/moderation-routes.ts); writing content is for editors and admins.
  const writers = requireRole('admin', 'editor');
  const idOf = (req: ApiRequest) => parseId(req.params.id, 'id', `the ${kind.name} id`);

  /** Runs a save once per Idempotency-Key and sends its (possibly replayed) answer. */
  async function saveOnce(req: ApiRequest, res: express.Response, status: number, save: () => Promise<SaveResult>) {
    const answer = await idempotent(
      db,
      await writeRequest(db, req, req.path),
      (saved: SaveResult) =>
        status === 201 ? { status, body: saved, location: `/api/${kind.plural}/${saved.id}` } : { status, body: saved },
      save,
    );
    sendStored(res, answer);
  }

  router.post(`/${kind.plural}`, auth, writers, requireJson, json, async (req: ApiRequest, res) => {
    const input = kind.parseInput(req.body, 'create');
    await saveOnce(req, res, 201, () => service.create(input, req.user!.id));
  });

  router.put(`/${kind.plural}/:id`, auth, writers, requireJson, json, async (req: ApiRequest, res) => {
    const id = idOf(req);
    const input = kind.parseInput(req.body, 'update');
    await saveOnce(req, res, 200, () => service.update(id, input));
  });

  router.get(`/${kind.plural}/:id`, auth, async (req, res) => {
    res.json(await service.get(idOf(req)));
  });

  router.get(`/${kind.plural}`, auth, async (req, res) => {
    const limit = boundedInt(req.query.limit, 'limit', 1, 200, 50);
    const offset = boundedInt(req.query.offset, 'offset', 0, 1e9, 0);
    const status = req.query.status;
    // Without a status, deleted items are left out (?status=deleted lists them).
    if (status !== undefined && !STORED_STATUSES.includes(String(status) as StoredStatus))
      throw new BadRequestError(`status must be one of ${STORED_STATUSES.join(', ')}`, 'status');
    res.json({ [kind.plural]: await service.list({ status: status as StoredStatus | undefined, limit, offset }) });
  });

  return router;
}
