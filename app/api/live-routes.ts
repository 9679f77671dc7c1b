// JSON API for the entries of a live article (app/live/live-entries.ts):
// list, add, edit, delete. Writes honour Idempotency-Key and wake the
// outbox relay once committed.
import type { RequestHandler, Response } from 'express';
import { Router } from 'express';
import type { Knex } from 'knex';
import type { EditorServices } from '../editor-services';
import { parseId } from '../http/request-params';
import { addEntry, deleteEntry, editEntry, listEntries, parseEntryInput } from '../live/live-entries';
import type { EditorWrites } from './editor-writes';
import { ApiRequest, requireJson, requireRole, requireToken } from './middleware';

export function liveApiRoutes(deps: EditorServices, writes: EditorWrites, json: RequestHandler): Router {
  const { db, now } = deps;
  const { once, inTransaction } = writes;
  const router = Router();
  const token = requireToken(db);
  const editors = requireRole('admin', 'editor');
  const articleOf = (req: ApiRequest) => parseId(req.params.id, 'id', 'the article id');
  const entryOf = (req: ApiRequest) => parseId(req.params.entryId, 'entryId', 'the entry id');
  /** One entry write, once per Idempotency-Key; the relay is woken once it has committed. */
  async function write<T>(req: ApiRequest, res: Response, status: number, work: (trx: Knex.Transaction) => Promise<T>) {
    await once(req, res, req.user!.id, status, inTransaction(work));
    deps.onOwed();
  }

  router.get('/articles/:id/entries', token, async (req: ApiRequest, res) => {
    res.json({ entries: await listEntries(db, articleOf(req)) });
  });
  router.post('/articles/:id/entries', token, editors, requireJson, json, async (req: ApiRequest, res) => {
    const id = articleOf(req);
    const input = parseEntryInput(req.body, 'create');
    await write(req, res, 201, (trx) => addEntry(trx, id, input, now()));
  });
  router.put('/articles/:id/entries/:entryId', token, editors, requireJson, json, async (req: ApiRequest, res) => {
    const [id, entryId] = [articleOf(req), entryOf(req)];
    const input = parseEntryInput(req.body, 'update');
    await write(req, res, 200, (trx) => editEntry(trx, id, entryId, input, now()));
  });
  router.delete('/articles/:id/entries/:entryId', token, editors, async (req: ApiRequest, res) => {
    const [id, entryId] = [articleOf(req), entryOf(req)];
    await write(req, res, 200, (trx) => deleteEntry(trx, id, entryId, now()));
  });
  return router;
}
