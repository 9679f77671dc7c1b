// JSON API for an item's correction, update and desk notes
// (app/content/item-notes.ts): list them (desk notes included: the API is
// for the newsroom) and add one. Adding honours Idempotency-Key.
import { RequestHandler, Router } from 'express';
import { notesOf, parseNoteInput } from '../content/item-notes';
import { addNote } from '../content/note-writes';
import type { EditorServices } from '../editor-services';
import { parseId } from '../http/request-params';
import type { EditorWrites } from './editor-writes';
import { ApiRequest, requireJson, requireRole, requireToken } from './middleware';

export function itemNotesApiRoutes(deps: EditorServices, { once }: EditorWrites, json: RequestHandler): Router {
  const router = Router();
  const token = requireToken(deps.db);
  for (const service of deps.items) {
    const { plural, name } = service.kind;
    router.get(`/${plural}/:id/notes`, token, async (req, res) => {
      const item = await service.get(parseId(req.params.id));
      res.json({ notes: await notesOf(deps.db, name, item.id) });
    });
    router.post(
      `/${plural}/:id/notes`,
      token,
      requireRole('admin', 'editor'),
      requireJson,
      json,
      async (req: ApiRequest, res) => {
        const id = parseId(req.params.id);
        const input = parseNoteInput(req.body, deps.now());
        await once(req, res, req.user!.id, 201, () => addNote(service, id, input, req.user!.id, deps.now));
      },
    );
  }
  return router;
}
